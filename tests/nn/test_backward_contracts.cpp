// The Layer contract of docs/nn.md, checked on every layer: backward before a forward, and backward with a
// gradient of the wrong shape, are refused with a message naming the layer before any memory is touched.
// Under AddressSanitizer (the asan stage) a kernel reading a wrong-sized dy would be a heap overflow.
#include <catch2/catch.hpp>

#include <fastpp/nn.hpp>

using namespace fastpp;
using namespace fastpp::nn;

namespace {

Tensor<float> contract_input(const Shape& s) {
  auto t = Tensor<float>::empty(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = std::sin(static_cast<float>(i) * 0.37f);
  return t;
}

// A shape with one more element along the leading axis, and one with the last axis one wider: both
// would make a kernel read past the end of dy (or misread its rows) if backward trusted it.
std::vector<Shape> wrong_shapes_for(const Shape& out) {
  std::vector<Shape> v{out.with_first(out[0] + 1)};
  if (out.rank() >= 2) {
    Shape wider = out;
    std::vector<std::int64_t> dims;
    for (int i = 0; i < out.rank(); ++i) dims.push_back(out[i]);
    dims.back() += 1;
    if (dims.size() == 2) wider = Shape{dims[0], dims[1]};
    if (dims.size() == 4) wider = Shape{dims[0], dims[1], dims[2], dims[3]};
    v.push_back(wider);
  }
  return v;
}

template <class L>
void check_contract(L& layer, const Shape& in, const std::string& name) {
  INFO(name);
  auto ctx = Ctx::train(7);
  // 1. backward before any forward
  CHECK_THROWS_WITH(layer.backward(ctx, contract_input(layer.out_shape(in))),
                    Catch::Contains(name) && Catch::Contains("backward without a forward"));
  // 2. backward with a gradient of the wrong shape, after a real forward
  for (const Shape& bad : wrong_shapes_for(layer.out_shape(in))) {
    INFO("dy " << bad);
    const auto y = layer.forward(ctx, contract_input(in));
    CHECK_THROWS_AS(layer.backward(ctx, contract_input(bad)), ShapeError);
    CHECK_THROWS_WITH(layer.backward(ctx, contract_input(bad)), Catch::Contains(name));
  }
  // 3. the right shape still works after the refusals
  const auto y = layer.forward(ctx, contract_input(in));
  CHECK(layer.backward(ctx, contract_input(y.shape())).shape() == in);
}

}  // namespace

TEST_CASE("every layer's backward refuses a missing forward and a wrong gradient, naming the layer", "[nn][contract]") {
  const Shape image{2, 6, 6, 4}, flat{3, 4};
  Conv2d<4, 5, ConvOpts{.kernel = 3, .padding = 1}> conv;
  check_contract(conv, image, "Conv2d<4, 5>");
  Conv2d<4, 6, ConvOpts{.kernel = 1, .bias = false}> pointwise;  // the direct (no im2col) path
  check_contract(pointwise, image, "Conv2d<4, 6>");
  Linear<4, 3> linear;
  check_contract(linear, flat, "Linear<4, 3>");
  BatchNorm2d<4> bn2;
  check_contract(bn2, image, "BatchNorm2d<4>");
  BatchNorm1d<4> bn1;
  check_contract(bn1, flat, "BatchNorm1d<4>");
  ReLU relu;
  check_contract(relu, image, "ReLU");
  Identity identity;
  check_contract(identity, image, "Identity");
  Dropout<30> dropout;
  check_contract(dropout, image, "Dropout<30>");
  Flatten flatten;
  check_contract(flatten, image, "Flatten");
  MaxPool2d<PoolOpts{.kernel = 2}> maxpool;
  check_contract(maxpool, image, "MaxPool2d<2>");
  AvgPool2d<PoolOpts{.kernel = 3, .stride = 1, .padding = 1}> avgpool;
  check_contract(avgpool, image, "AvgPool2d<3>");
  AdaptiveAvgPool2d<2> adaptive_avg;
  check_contract(adaptive_avg, image, "AdaptiveAvgPool2d<2>");
  AdaptiveMaxPool2d<1> adaptive_max;
  check_contract(adaptive_max, image, "AdaptiveMaxPool2d<1>");
  AdaptiveConcatPool2d<1> concat;
  check_contract(concat, image, "AdaptiveConcatPool2d<1>");
  BasicBlock<4, 8, 2> block;  // the residual's own ReLU checks dy first
  check_contract(block, image, "ReLU");
  Sequential<Conv2d<4, 8>, ReLU, AdaptiveAvgPool2d<1>, Flatten, Linear<8, 2>> net;
  check_contract(net, image, "Linear<8, 2>");
}

TEST_CASE("a forward without ctx.grad keeps nothing, and backward says so", "[nn][contract]") {
  auto eval = Ctx::eval();
  Conv2d<4, 5> conv;
  conv.forward(eval, contract_input({2, 6, 6, 4}));
  auto train = Ctx::train();
  CHECK_THROWS_WITH(conv.backward(train, contract_input({2, 4, 4, 5})),
                    Catch::Contains("Conv2d<4, 5>") && Catch::Contains("ctx.grad = true"));
  MaxPool2d<PoolOpts{.kernel = 2}> pool;
  pool.forward(eval, contract_input({2, 6, 6, 4}));
  CHECK_THROWS_WITH(pool.backward(train, contract_input({2, 3, 3, 4})), Catch::Contains("MaxPool2d"));
}

TEST_CASE("Dropout takes one backward per forward: a second would pass dy through unmasked", "[nn][contract]") {
  auto ctx = Ctx::train(3);
  Dropout<50> dropout;
  dropout.forward(ctx, contract_input({4, 8}));
  dropout.backward(ctx, contract_input({4, 8}));
  CHECK_THROWS_WITH(dropout.backward(ctx, contract_input({4, 8})), Catch::Contains("Dropout<50>: backward without a forward"));
}
