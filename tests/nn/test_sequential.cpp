// Sequential, Named children, channel flow, construction-time checks, in-place safety, Dropout, errors.
#include <catch2/catch.hpp>

#include <fastpp/core/ops.hpp>
#include <fastpp/nn.hpp>

#include "../support/conv_library.hpp"

using namespace fastpp;
using namespace fastpp::nn;

namespace {
Tensor<float> ramp(const Shape& s, float step = 0.1f) {
  auto t = Tensor<float>::empty(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = std::sin(static_cast<float>(i) * step);
  return t;
}
}  // namespace

TEST_CASE("Sequential knows its channels at compile time", "[nn]") {
  using Net = Sequential<Conv2d<3, 16>, BatchNorm2d<16>, ReLU, AdaptiveConcatPool2d<1>, Flatten, Linear<32, 10>>;
  static_assert(Net::in_channels == 3);
  static_assert(Net::out_channels == 10);
  using Body = Sequential<Conv2d<3, 8>, ReLU>;
  static_assert(Body::out_channels == 8);
  // a nested Sequential is checked against what precedes it
  using Outer = Sequential<Body, BatchNorm2d<8>, Sequential<AdaptiveAvgPool2d<1>, Flatten>, Linear<8, dyn>>;
  static_assert(Outer::out_channels == dyn);
  static_assert(Layer<Outer>);
  static_assert(!Layer<int>);
  Outer net(Build{Rng(1), 3});
  CHECK(net.get<3>().out_features() == 3);
  auto ctx = Ctx::train();
  CHECK(net.forward(ctx, ramp(Shape{2, 6, 6, 3})).shape() == Shape{2, 3});
}

TEST_CASE("children are named by index or by Named<>, as torch modules are", "[nn]") {
  // (the pool and Flatten have no parameters: a Linear right after BatchNorm2d would not compile)
  Sequential<Named<"features", Sequential<Conv2d<3, 4>, BatchNorm2d<4>, AdaptiveAvgPool2d<1>, Flatten>>,
             Named<"head", Linear<4, 2>>>
      net;
  std::vector<std::string> names;
  net.for_each_param([&](const std::string& n, Param&) { names.push_back(n); });
  CHECK(names == std::vector<std::string>{"features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                                          "head.weight", "head.bias"});
  std::vector<std::string> buffers;
  net.for_each_buffer([&](const std::string& n, BufferRef) { buffers.push_back(n); });
  CHECK(buffers == std::vector<std::string>{"features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked"});
}

TEST_CASE("a width that depends on the image size is checked at construction, naming the shapes", "[nn]") {
  using Net = Sequential<Conv2d<1, 4, ConvOpts{.kernel = 3, .padding = 1}>, MaxPool2d<PoolOpts{.kernel = 2}>, Flatten, Linear<4 * 14 * 14, 10>>;
  CHECK_NOTHROW(build_for_input<Net>(Shape{1, 28, 28, 1}));
  CHECK_THROWS_WITH(build_for_input<Net>(Shape{1, 32, 32, 1}),
                    Catch::Contains("Linear<784, 10>") && Catch::Contains("[1, 1024]"));
  Net net;
  auto ctx = Ctx::eval();
  CHECK_THROWS_AS(net.forward(ctx, ramp(Shape{1, 32, 32, 1})), ShapeError);
  CHECK(net.forward(ctx, ramp(Shape{1, 28, 28, 1})).shape() == Shape{1, 10});
}

TEST_CASE("Linear<In, dyn> takes its width from the data at construction", "[nn]") {
  CHECK(Linear<512, dyn>(37).weight.value.shape() == Shape{37, 512});
  CHECK_THROWS_WITH((Linear<512, dyn>(Build{})), Catch::Contains("Linear<512, dyn>") && Catch::Contains("number of classes"));
  CHECK_THROWS_WITH((Sequential<Flatten, Linear<8, dyn>>(Build{})), Catch::Contains("Linear<8, dyn>"));
}

TEST_CASE("layers name themselves and the shapes when the input is wrong", "[nn]") {
  auto ctx = Ctx::train();
  Conv2d<3, 8> conv;
  CHECK_THROWS_WITH(conv.forward(ctx, ramp(Shape{2, 5, 5, 4})), Catch::Contains("Conv2d<3, 8>") && Catch::Contains("[2, 5, 5, 4]"));
  CHECK_THROWS_WITH(conv.forward(ctx, ramp(Shape{2, 2, 2, 3})), Catch::Contains("smaller than the kernel"));
  BatchNorm1d<4> bn;
  CHECK_THROWS_WITH(bn.forward(ctx, ramp(Shape{1, 4})), Catch::Contains("more than one value per channel"));
  Linear<4, 2> lin;
  CHECK_THROWS_WITH(lin.backward(ctx, ramp(Shape{1, 2})), Catch::Contains("Linear<4, 2>: backward without a forward"));
}

TEST_CASE("ReLU works in place only on tensors nobody else holds", "[nn]") {
  auto ctx = Ctx::train();
  const auto x = ramp(Shape{2, 3, 3, 2});
  const auto before = x.clone();
  Sequential<Identity, ReLU> net;  // Identity hands the caller's tensor through: must not be overwritten
  const auto y = net.forward(ctx, x);
  CHECK(max_abs_diff(x, before) == 0.0);
  CHECK(!y.shares_storage_with(x));
  for (float v : y) CHECK(v >= 0.0f);
  // a fresh intermediate is reused
  ReLU r;
  auto fresh = x.clone();
  const float* p = fresh.data();
  const auto z = r.forward(ctx, std::move(fresh));
  CHECK(z.data() == p);
  const auto dx = net.backward(ctx, Tensor<float>::full(y.shape(), 1.0f));
  for (std::int64_t i = 0; i < x.numel(); ++i) CHECK(dx.data()[i] == (x.data()[i] > 0 ? 1.0f : 0.0f));
}

TEST_CASE("Dropout is seeded, scaled, and the identity in eval", "[nn]") {
  Dropout<25> d;
  const auto x = Tensor<float>::full({100, 100}, 1.0f);
  auto eval = Ctx::eval();
  CHECK(d.forward(eval, x).shares_storage_with(x));
  auto c1 = Ctx::train(7), c2 = Ctx::train(7), c3 = Ctx::train(8);
  const auto a = d.forward(c1, x);
  Dropout<25> d2;
  const auto b = d2.forward(c2, x);
  const auto c = d2.forward(c3, x);
  CHECK(max_abs_diff(a, b) == 0.0);
  CHECK(max_abs_diff(a, c) > 0.0);
  std::int64_t zeros = 0;
  for (float v : a) {
    CHECK((v == 0.0f || v == Approx(1.0f / 0.75f)));
    zeros += v == 0.0f;
  }
  CHECK(zeros == Approx(2500).margin(200));
  const auto g = d.backward(c1, Tensor<float>::full({100, 100}, 2.0f));
  for (std::int64_t i = 0; i < g.numel(); ++i) CHECK(g.data()[i] == 2.0f * a.data()[i]);
}

// fastpp's own convolution kernels; oneDNN's give the same bits for the same thread count only
// (test_onednn_conv.cpp).
TEST_CASE("convolution results do not depend on the thread count", "[nn][threads]") {
  ConvLibraryScope own(ConvLibrary::fastpp);
  Conv2d<8, 16, ConvOpts{.kernel = 3, .stride = 2, .padding = 1}> conv;
  BatchNorm2d<16> bn;
  const auto x = ramp(Shape{3, 9, 9, 8});
  auto run = [&](int threads) {
    set_num_threads(threads);
    auto ctx = Ctx::train();
    auto y = bn.forward(ctx, conv.forward(ctx, x));
    conv.weight.zero_grad();
    auto dx = conv.backward(ctx, bn.backward(ctx, y));
    return std::make_tuple(y, dx, conv.weight.grad.clone());
  };
  const auto [y1, dx1, g1] = run(1);
  const auto [y2, dx2, g2] = run(2);
  set_num_threads(2);
  CHECK(max_abs_diff(y1, y2) == 0.0);
  CHECK(max_abs_diff(dx1, dx2) == 0.0);
  CHECK(max_abs_diff(g1, g2) == 0.0);
}

// The backward's two ways of summing the weight gradient over chunks of images (backend/cpu/detail/conv.hpp):
// fixed groups of chunks with partials (small weights), and chunks one after another with the products split
// across the pool (weights above the partials budget). Both give the same bits with 1, 2 and 3 threads.
template <class Conv>
void check_conv_threads(const Shape& in, std::int64_t expect_groups) {
  ConvLibraryScope own(ConvLibrary::fastpp);
  Conv conv;
  const auto g = conv.geometry(in);
  const std::int64_t chunk = backend::cpu_detail::conv_chunk_images(g), chunks = (g.n + chunk - 1) / chunk;
  REQUIRE(backend::cpu_detail::conv_backward_groups(chunks, g.cout * g.k(), true) == expect_groups);
  const auto x = ramp(in, 0.007f);
  auto run = [&](int threads) {
    set_num_threads(threads);
    auto ctx = Ctx::train();
    auto y = conv.forward(ctx, x);
    conv.weight.zero_grad();
    auto dx = conv.backward(ctx, y);
    return std::make_tuple(y, dx, conv.weight.grad.clone());
  };
  const auto [y1, dx1, g1] = run(1);
  for (int threads : {2, 3}) {
    const auto [y2, dx2, g2] = run(threads);
    CHECK(max_abs_diff(y1, y2) == 0.0);
    CHECK(max_abs_diff(dx1, dx2) == 0.0);
    CHECK(max_abs_diff(g1, g2) == 0.0);
  }
  set_num_threads(2);
}

TEST_CASE("convolution chunks: the weight gradient's sum does not depend on the thread count", "[nn][threads]") {
  CHECK(backend::cpu_detail::conv_backward_groups(16, 590000, true) == 2);  // ResNet-18's layer3 at batch 32
  CHECK(backend::cpu_detail::conv_backward_groups(16, 590000, false) == 8);  // no dw: no partials
  CHECK(backend::cpu_detail::conv_backward_groups(5, 100, true) == 4);
  CHECK(backend::cpu_detail::conv_backward_groups(1, 100, true) == 1);
  // 40 images of 12x12x16 -> 3 images (432 rows) a chunk, 14 chunks in 8 groups with partials
  check_conv_threads<Conv2d<16, 32, ConvOpts{.kernel = 3, .padding = 1, .bias = false}>>(Shape{40, 12, 12, 16}, 8);
  // a 1024x3x3x256 weight (2.4 M floats, above the budget): no partials, each product split across the pool
  check_conv_threads<Conv2d<256, 1024, ConvOpts{.kernel = 3, .padding = 1, .bias = false}>>(Shape{8, 3, 3, 256}, 1);
  // a 256x3x3x256 weight (590K floats): the budget allows 3 partials, so 2 groups (of 2 chunks of 4 images)
  check_conv_threads<Conv2d<256, 256, ConvOpts{.kernel = 3, .padding = 1, .bias = false}>>(Shape{16, 8, 8, 256}, 2);
}

TEST_CASE("a batch too large for one im2col buffer is processed in chunks with the same result", "[nn]") {
  // 64x64 outputs with K = 3*3*256: one image's columns exceed a chunk's 64 K floats, so each image is a chunk.
  ConvLibraryScope own(ConvLibrary::fastpp);
  Conv2d<256, 4, ConvOpts{.kernel = 3, .padding = 1}> conv;
  REQUIRE(backend::cpu_detail::conv_chunk_images(conv.geometry(Shape{2, 64, 64, 256})) == 1);
  const auto x = ramp(Shape{2, 64, 64, 256}, 0.013f);
  auto ctx = Ctx::train();
  const auto y = conv.forward(ctx, x);
  conv.weight.zero_grad();
  const auto dx = conv.backward(ctx, y);
  const auto gw = conv.weight.grad.clone();
  // the same images one by one
  conv.weight.zero_grad();
  for (std::int64_t i = 0; i < 2; ++i) {
    const auto xi = x.slice(i, i + 1).clone();
    const auto yi = conv.forward(ctx, xi);
    CHECK(max_abs_diff(yi, y.slice(i, i + 1).clone()) == 0.0);
    CHECK(max_abs_diff(conv.backward(ctx, yi), dx.slice(i, i + 1).clone()) == 0.0);
  }
  CHECK(max_abs_diff(conv.weight.grad, gw) <= 1e-3 * std::max(1.0f, std::abs(gw.data()[0])));
}

namespace {
using SmallNet = Sequential<Conv2d<3, 8, ConvOpts{.kernel = 3, .padding = 1, .bias = false}>, BatchNorm2d<8>, ReLU,
                            BasicBlock<8, 8, 1>, AdaptiveAvgPool2d<1>, Flatten, Linear<8, 4>>;

std::vector<std::vector<float>> grads_of(SmallNet& net) {
  std::vector<std::vector<float>> g;
  net.for_each_param([&](const std::string&, Param& p) { g.emplace_back(p.grad.begin(), p.grad.end()); });
  return g;
}
}  // namespace

TEST_CASE("without input_grad, backward gives the same weight gradients and no input gradient", "[nn]") {
  const auto x = ramp(Shape{4, 6, 6, 3});
  std::vector<std::vector<float>> with, without;
  for (const bool input_grad : {true, false}) {
    SmallNet net(Build{Rng(5)});
    auto ctx = Ctx::train();
    ctx.input_grad = input_grad;
    const auto y = net.forward(ctx, x);
    const auto dx = net.backward(ctx, ramp(y.shape(), 0.3f));
    CHECK(dx.defined() == input_grad);
    if (input_grad) CHECK(dx.shape() == x.shape());
    CHECK(ctx.input_grad == input_grad);  // put back for the caller
    (input_grad ? with : without) = grads_of(net);
  }
  REQUIRE(with.size() == without.size());
  for (std::size_t i = 0; i < with.size(); ++i) CHECK(with[i] == without[i]);  // bit for bit
}

TEST_CASE("without input_grad, backward stops above the layers that do not train", "[nn]") {
  const auto x = ramp(Shape{4, 6, 6, 3});
  for (const bool frozen_stem : {false, true}) {
    SmallNet net(Build{Rng(5)});
    for (Param* p : {&net.get<0>().weight, &net.get<1>().weight, &net.get<1>().bias}) {
      p->frozen = frozen_stem;
      p->train_bn = false;
    }
    auto ctx = Ctx::train();
    ctx.input_grad = false;
    const auto y = net.forward(ctx, x);
    net.backward(ctx, ramp(y.shape(), 0.3f));
    // A layer's backward lets go of what its forward kept: the stem still holds it only where it was skipped.
    const auto stem_backward = [&] { net.get<0>().backward(ctx, ramp(Shape{4, 6, 6, 8})); };
    if (frozen_stem) CHECK_NOTHROW(stem_backward());
    else CHECK_THROWS_WITH(stem_backward(), Catch::Contains("backward without a forward"));
  }
}
