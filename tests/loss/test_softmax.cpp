// softmax, log_softmax and sigmoid, forward and backward, against PyTorch's float64 values.
#include <catch2/catch.hpp>
#include <cmath>
#include <fastpp/core/rng.hpp>
#include <fastpp/loss.hpp>

#include "fixture.hpp"

using namespace fastpp;
using loss_test::Tolerance;

using loss_test::u32;

TEST_CASE("softmax and log_softmax match PyTorch, float32 and float64", "[loss]") {
  const auto& xr = loss_test::rec("x");
  const double C = static_cast<double>(xr.shape[1]), xmax = loss_test::max_abs(xr.values);
  SECTION("float32") {
    auto x = loss_test::tensor<float>("x");
    auto dy = loss_test::tensor<float>("dy");
    auto y = softmax(x);
    LOSS_CHECK_CLOSE(y, "softmax", (Tolerance{u32, C, 0.0}));
    LOSS_CHECK_CLOSE(softmax_backward(y, dy), "softmax_dx", (Tolerance{u32, C, 1.0}));
    auto ly = log_softmax(x);
    LOSS_CHECK_CLOSE(ly, "log_softmax", (Tolerance{u32, C, xmax}));
    LOSS_CHECK_CLOSE(log_softmax_backward(ly, dy), "log_softmax_dx", (Tolerance{u32, C, 1.0}));
  }
  SECTION("float64") {
    constexpr double u64 = loss_test::unit_roundoff<double>();
    auto x = loss_test::tensor<double>("x");
    auto dy = loss_test::tensor<double>("dy");
    auto y = softmax(x);
    LOSS_CHECK_CLOSE(y, "softmax", (Tolerance{u64, C, 0.0}));
    LOSS_CHECK_CLOSE(softmax_backward(y, dy), "softmax_dx", (Tolerance{u64, C, 1.0}));
    auto ly = log_softmax(x);
    LOSS_CHECK_CLOSE(ly, "log_softmax", (Tolerance{u64, C, xmax}));
    LOSS_CHECK_CLOSE(log_softmax_backward(ly, dy), "log_softmax_dx", (Tolerance{u64, C, 1.0}));
  }
}

TEST_CASE("softmax rows sum to one and the _out forms reuse the caller's buffers", "[loss]") {
  auto x = loss_test::tensor<float>("x");
  auto y = Tensor<float>::full(x.shape(), 7.0f);
  const float* before = y.data();
  softmax_out(x, y);
  CHECK(y.data() == before);
  for (std::int64_t i = 0; i < x.size(0); ++i) {
    double s = 0;
    for (std::int64_t j = 0; j < x.size(1); ++j) s += y(i, j);
    CHECK(s == Approx(1.0).epsilon(1e-6));
  }
  auto wrong = Tensor<float>::empty({x.size(0), x.size(1) + 1});
  CHECK_THROWS_AS(softmax_out(x, wrong), ShapeError);
  CHECK_THROWS_WITH(softmax(Tensor<float>::zeros({2, 3, 4})), Catch::Contains("rank 2"));
}

TEST_CASE("sigmoid and its backward match PyTorch", "[loss]") {
  auto x = loss_test::tensor<float>("x");
  auto dy = loss_test::tensor<float>("dy");
  auto y = sigmoid(x);
  LOSS_CHECK_CLOSE(y, "sigmoid", (Tolerance{u32, 1.0, 0.0}));
  LOSS_CHECK_CLOSE(sigmoid_backward(y, dy), "sigmoid_dx", (Tolerance{u32, 1.0, 1.0}));  // 1 - y cancels: absolute error
}

TEST_CASE("logits of magnitude 1e4 give finite, exact softmax and log_softmax", "[loss]") {
  auto x = loss_test::tensor<float>("xl");
  const double C = 7, xmax = 1e4;
  auto y = softmax(x);
  LOSS_CHECK_CLOSE(y, "xl_softmax", (Tolerance{u32, C, 0.0}));
  LOSS_CHECK_CLOSE(log_softmax(x), "xl_log_softmax", (Tolerance{u32, C, xmax}));
  LOSS_CHECK_CLOSE(sigmoid(x), "xl_sigmoid", (Tolerance{u32, 1.0, 0.0}));
  // row 1 is all ties: uniform probabilities
  for (std::int64_t j = 0; j < 7; ++j) CHECK(y(1, j) == Approx(1.0 / 7).epsilon(1e-6));
}

TEST_CASE("the chapter's identity: for two classes softmax[:,0] == sigmoid(a0 - a1)", "[loss]") {
  Rng rng(42);
  auto acts = Tensor<float>::empty({64, 2});
  for (auto& v : acts) v = static_cast<float>(rng.normal() * 4.0);
  auto sm = softmax(acts);
  for (std::int64_t i = 0; i < 64; ++i) {
    const float d = acts(i, 0) - acts(i, 1);
    const double s = 1.0 / (1.0 + std::exp(-static_cast<double>(d)));
    CHECK(std::fabs(sm(i, 0) - s) <= 4 * u32);
    CHECK(std::fabs(sm(i, 1) - (1.0 - s)) <= 4 * u32);
  }
  // and in double, to 1e-15
  auto sm64 = softmax(acts.cast<double>());
  for (std::int64_t i = 0; i < 64; ++i) {
    const double d = static_cast<double>(acts(i, 0)) - static_cast<double>(acts(i, 1));
    CHECK(sm64(i, 0) == Approx(1.0 / (1.0 + std::exp(-d))).epsilon(1e-14));
  }
}

TEST_CASE("half and bfloat16 inputs accumulate in float", "[loss]") {
  auto x32 = loss_test::tensor<float>("x");
  auto check_type = [&](auto tag) {
    using H = decltype(tag);
    auto xh = x32.cast<H>();
    auto ref = softmax(xh.template cast<double>());  // the same rounded inputs, computed in double
    auto y = softmax(xh);
    const double u = loss_test::unit_roundoff<H>();
    for (std::int64_t i = 0; i < y.numel(); ++i) {
      const double r = ref.data()[i];
      CHECK(std::fabs(static_cast<float>(y.data()[i]) - r) <= 2 * u * r + 1e-7);
    }
    auto t = Tensor<std::int64_t>::zeros({x32.size(0)});
    auto lh = cross_entropy(xh, t, {.reduction = Reduction::none});
    auto lr = cross_entropy(xh.template cast<double>(), t, {.reduction = Reduction::none});
    static_assert(std::is_same_v<decltype(lh), Tensor<float>>, "16-bit losses come back in float");
    for (std::int64_t i = 0; i < lh.numel(); ++i) CHECK(lh.data()[i] == Approx(lr.data()[i]).epsilon(1e-5).margin(1e-5));
  };
  check_type(half{});
  check_type(bfloat16{});
}
