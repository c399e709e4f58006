// Finite-difference checks of every backward, in double: d loss / d x_k ~ (L(x + h e_k) - L(x - h e_k)) / 2h.
#include <catch2/catch.hpp>
#include <cmath>
#include <fastpp/core/rng.hpp>
#include <fastpp/loss.hpp>
#include <functional>

using namespace fastpp;

namespace {
Tensor<double> random_tensor(const Shape& s, std::uint64_t seed, double scale) {
  Rng rng(seed);
  auto t = Tensor<double>::empty(s);
  for (auto& v : t) v = rng.normal() * scale;
  return t;
}
Tensor<std::int64_t> random_targets(std::int64_t n, std::int64_t c, std::uint64_t seed) {
  Rng rng(seed);
  auto t = Tensor<std::int64_t>::empty({n});
  for (auto& v : t) v = static_cast<std::int64_t>(rng.below(static_cast<std::uint32_t>(c)));
  return t;
}
// Largest |analytic - numeric| over all elements of x, for a scalar function f of x.
double max_fd_error(Tensor<double> x, const std::function<double(const Tensor<double>&)>& f, const Tensor<double>& analytic) {
  const double h = 1e-6;
  double worst = 0;
  for (std::int64_t k = 0; k < x.numel(); ++k) {
    const double keep = x.data()[k];
    x.data()[k] = keep + h;
    const double up = f(x);
    x.data()[k] = keep - h;
    const double down = f(x);
    x.data()[k] = keep;
    worst = std::fmax(worst, std::fabs((up - down) / (2 * h) - analytic.data()[k]));
  }
  return worst;
}
double dot(const Tensor<double>& a, const Tensor<double>& b) {
  double s = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) s += a.data()[i] * b.data()[i];
  return s;
}
constexpr double fd_tol = 1e-7;  // central differences with h = 1e-6 on O(1) functions: error ~1e-10
}  // namespace

TEST_CASE("softmax, log_softmax and sigmoid backward agree with finite differences", "[loss]") {
  auto x = random_tensor({5, 11}, 1, 2.0);
  auto dy = random_tensor({5, 11}, 2, 1.0);
  CHECK(max_fd_error(x, [&](const Tensor<double>& v) { return dot(softmax(v), dy); },
                     softmax_backward(softmax(x), dy)) < fd_tol);
  CHECK(max_fd_error(x, [&](const Tensor<double>& v) { return dot(log_softmax(v), dy); },
                     log_softmax_backward(log_softmax(x), dy)) < fd_tol);
  CHECK(max_fd_error(x, [&](const Tensor<double>& v) { return dot(sigmoid(v), dy); },
                     sigmoid_backward(sigmoid(x), dy)) < fd_tol);
}

TEST_CASE("nll_loss, cross_entropy and label smoothing backward agree with finite differences", "[loss]") {
  const std::int64_t n = 6, c = 11;
  auto x = random_tensor({n, c}, 3, 2.0);
  auto t = random_targets(n, c, 4);
  t.data()[2] = -100;
  auto w = Tensor<float>::empty({c});
  for (std::int64_t j = 0; j < c; ++j) w.data()[j] = 0.5f + 0.125f * static_cast<float>(j);
  for (Reduction r : {Reduction::none, Reduction::mean, Reduction::sum}) {
    INFO("reduction " << reduction_name(r));
    auto g = r == Reduction::none ? random_tensor({n}, 5, 1.0) : Tensor<double>::full({1}, 0.7);
    const NllOptions o{.weight = w, .reduction = r};
    CHECK(max_fd_error(x, [&](const Tensor<double>& v) { return dot(nll_loss(v, t, o), g); },
                       nll_loss_backward(x, t, o, g)) < fd_tol);
    auto lse = Tensor<double>::empty({n});
    auto loss = Tensor<double>::empty(g.shape());
    cross_entropy_out(x, t, o, loss, lse);
    CHECK(max_fd_error(x, [&](const Tensor<double>& v) { return dot(cross_entropy(v, t, o), g); },
                       cross_entropy_backward(x, t, o, lse, g)) < fd_tol);
    const LabelSmoothingOptions ls{.eps = 0.1, .weight = w, .reduction = r};
    auto dls = Tensor<double>::empty(x.shape());
    cross_entropy_forward_backward_out(x, t, ls, g, loss, dls);
    CHECK(max_fd_error(x, [&](const Tensor<double>& v) { return dot(cross_entropy(v, t, ls), g); },
                       dls) < fd_tol);
  }
}

TEST_CASE("binary_cross_entropy_with_logits backward agrees with finite differences", "[loss]") {
  auto x = random_tensor({4, 5}, 6, 3.0);
  auto y = random_tensor({4, 5}, 7, 1.0);
  for (auto& v : y) v = 1.0 / (1.0 + std::exp(-v));  // soft labels in (0, 1)
  auto pw = Tensor<float>::from({5}, {0.5f, 1.0f, 2.0f, 3.0f, 1.5f});
  auto w = Tensor<float>::from({5}, {1.0f, 0.25f, 2.0f, 1.0f, 0.75f});
  for (Reduction r : {Reduction::none, Reduction::mean, Reduction::sum}) {
    INFO("reduction " << reduction_name(r));
    auto g = r == Reduction::none ? random_tensor({4, 5}, 8, 1.0) : Tensor<double>::full({1}, 1.3);
    const BceOptions o{.weight = w, .pos_weight = pw, .reduction = r};
    CHECK(max_fd_error(x, [&](const Tensor<double>& v) { return dot(binary_cross_entropy_with_logits(v, y, o), g); },
                       binary_cross_entropy_with_logits_backward(x, y, o, g)) < fd_tol);
  }
}
