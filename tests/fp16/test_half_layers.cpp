// Layers with half and bfloat16 activations (backend/mixed_layer_kernels.hpp): float parameters and
// gradients, activations in the low-precision type. The same network in float and in half, from the same
// weights and input, agrees within the type's rounding through forward and backward; parameter gradients
// accumulate in float as in the float network.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <fastpp/models/state_dict.hpp>
#include <fastpp/nn.hpp>

#include "../support/relative_error.hpp"

using namespace fastpp;

namespace {

// Every layer family with low-precision entries: convolution (with and without bias), batch norm over maps
// and rows, ReLU, max and average pooling, the head's concat pool (a strided output), dropout, linear.
using Net = nn::Sequential<nn::Conv2d<3, 8, nn::ConvOpts{.kernel = 3, .stride = 1, .padding = 1, .bias = false}>,
                           nn::BatchNorm2d<8>, nn::ReLU, nn::MaxPool2d<nn::PoolOpts{.kernel = 2, .stride = 2}>,
                           nn::Conv2d<8, 6, nn::ConvOpts{.kernel = 3, .padding = 1}>, nn::ReLU,
                           nn::AvgPool2d<nn::PoolOpts{.kernel = 2, .stride = 2}>, nn::AdaptiveConcatPool2d<1>,
                           nn::Flatten, nn::BatchNorm1d<12>, nn::Dropout<25>, nn::Linear<12, 5>>;

template <class A>
void check_against_float(double forward_tol, double grad_tol) {
  Net f(nn::Build{Rng(3), 5});
  nn::on_device_t<Net, cpu, A> h(nn::Build{Rng(99), 5});
  models::load_state_dict(h, models::state_dict(f));  // the same weights and statistics

  Rng rng(7);
  auto x = Tensor<float>::empty({4, 12, 12, 3});
  for (auto& v : x) v = rng.normal();
  auto dy = Tensor<float>::empty({4, 5});
  for (auto& v : dy) v = rng.normal();

  auto cf = nn::Ctx::train(11), ch = nn::Ctx::train(11);  // the same dropout masks
  const auto yf = f.forward(cf, x);
  const auto yh = h.forward(ch, x.cast<A>());
  INFO("forward: scaled error " << test::relative_l2_error(yf, yh));
  CHECK(test::relative_l2_error(yf, yh) <= forward_tol);

  const auto dxf = f.backward(cf, dy);
  const auto dxh = h.backward(ch, dy.cast<A>());
  INFO("input gradient: scaled error " << test::relative_l2_error(dxf, dxh));
  CHECK(test::relative_l2_error(dxf, dxh) <= grad_tol);
  const auto gf = test::gradients_of(f), gh = test::gradients_of(h);
  REQUIRE(gf.size() == gh.size());
  for (std::size_t i = 0; i < gf.size(); ++i) {
    INFO("parameter " << i << ": scaled error " << test::relative_l2_error(gf[i], gh[i]));
    CHECK(test::relative_l2_error(gf[i], gh[i]) <= grad_tol);
  }
  // Running statistics are float buffers, moved by the batch's statistics as in the float network.
  const auto sf = models::state_dict(f), sh = models::state_dict(h);
  for (const auto& [name, t] : sf.tensors) {
    if (name.find("running_") == std::string::npos) continue;
    INFO(name);
    CHECK(test::relative_l2_error(t.to_float(), sh.tensors.at(name).to_float()) <= forward_tol);
  }

  // A second backward adds to the float gradients (a low-precision layer accumulates like a float one).
  auto ch2 = nn::Ctx::train(11);
  h.forward(ch2, x.cast<A>());
  h.backward(ch2, dy.cast<A>());
  const auto twice = test::gradients_of(h);
  for (std::size_t i = 0; i < gh.size(); ++i)
    for (std::size_t j = 0; j < gh[i].size(); ++j) CHECK(twice[i][j] == Approx(2 * gh[i][j]).margin(1e-6));
}

}  // namespace

TEST_CASE("a half network matches the float network within half's rounding, forward and backward", "[fp16]") {
  // measured (this network, seed): forward 2.1e-3, gradients up to 1.1e-2 (a bias's gradient, a sum whose
  // terms cancel); a wrong stride or a lost accumulation gives errors of order 1
  check_against_float<half>(1e-2, 3e-2);
}

TEST_CASE("a bfloat16 network matches the float network within bfloat16's rounding", "[fp16]") {
  // measured: forward 1.8e-2, gradients up to 0.2 below the max pool (8 bits make ties in its windows, each
  // routing a gradient to another pixel), 0.004-0.04 elsewhere
  check_against_float<bfloat16>(5e-2, 0.35);
}

TEST_CASE("the concat pool's half entries fill both halves of the strided output and add both gradients",
          "[fp16]") {
  nn::AdaptiveConcatPool2d<1, cpu, half> pool;
  auto x = Tensor<half>::empty({2, 3, 3, 4});
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = half(static_cast<float>((i * 7) % 11) - 5.0f);
  auto ctx = nn::Ctx::train();
  const auto y = pool.forward(ctx, x);
  REQUIRE(y.shape() == Shape{2, 1, 1, 8});
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t c = 0; c < 4; ++c) {
      float mx = -1e9f, sum = 0.0f;
      for (std::int64_t p = 0; p < 9; ++p) {
        const float v = x.data()[(n * 9 + p) * 4 + c];
        mx = std::max(mx, v);
        sum += v;
      }
      // fastai's AdaptiveConcatPool2d: [max, avg]
      CHECK(static_cast<float>(y.data()[n * 8 + c]) == mx);
      CHECK(static_cast<float>(y.data()[n * 8 + 4 + c]) == Approx(sum / 9).margin(2e-3));
    }
  auto dy = Tensor<half>::empty(y.shape());
  for (auto& v : dy) v = half(1.0f);
  const auto dx = pool.backward(ctx, dy);
  double total = 0.0;
  for (const half v : dx) total += static_cast<float>(v);
  CHECK(total == Approx(2 * 4 * (1.0 + 1.0)).margin(1e-2));  // each image and channel: 1 (max) + 9 * 1/9 (avg)
}
