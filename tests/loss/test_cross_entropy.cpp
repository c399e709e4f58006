// nll_loss and the fused cross_entropy against PyTorch (weights, ignore_index, every reduction),
// forward, backward from the saved logsumexp, and the one-pass forward+backward.
#include <catch2/catch.hpp>
#include <fastpp/loss.hpp>
#include <string>

#include "fixture.hpp"

using namespace fastpp;
using loss_test::Tolerance;

namespace {
using loss_test::u32;

struct Case {
  std::string name;
  std::string target;
  bool weighted;
  std::int64_t ignore_index;
};
const Case cases[] = {{"plain", "t", false, -100},
                      {"w", "t", true, -100},
                      {"ign", "t_ign", false, -100},
                      {"w_ign", "t_ign", true, -100},
                      {"w_ign2", "t_ign2", true, 2}};
using loss_test::reductions;

NllOptions options_for(const Case& c, Reduction r) {
  return NllOptions{.weight = c.weighted ? loss_test::tensor<float>("w") : Tensor<float>{},
                    .ignore_index = c.ignore_index,
                    .reduction = r};
}
}  // namespace

TEMPLATE_TEST_CASE("nll_loss matches PyTorch", "[loss]", float, double) {
  auto logp = loss_test::tensor<TestType>("logp");
  const double n = static_cast<double>(logp.size(0));
  const double u = loss_test::unit_roundoff<TestType>();
  for (const auto& c : cases)
    for (const auto& [r, rname] : reductions) {
      const std::string key = "nll_" + c.name + "_" + rname;
      INFO(key);
      const auto o = options_for(c, r);
      auto t = loss_test::tensor<std::int64_t>(c.target);
      LOSS_CHECK_CLOSE(nll_loss(logp, t, o), key, (Tolerance{u, n, 0.0}));
      auto g = loss_test::tensor<acc_t<TestType>>("g_" + rname);
      LOSS_CHECK_CLOSE(nll_loss_backward(logp, t, o, g), key + "_dx", (Tolerance{u, n, 0.0}));
    }
}

TEMPLATE_TEST_CASE("cross_entropy matches PyTorch: forward, backward and fused", "[loss]", float, double) {
  using A = acc_t<TestType>;
  auto x = loss_test::tensor<TestType>("x");
  const double n = static_cast<double>(x.size(0)), C = static_cast<double>(x.size(1));
  const double xmax = loss_test::max_abs(loss_test::rec("x").values);
  const double u = loss_test::unit_roundoff<TestType>();
  for (const auto& c : cases)
    for (const auto& [r, rname] : reductions) {
      const std::string key = "ce_" + c.name + "_" + rname;
      INFO(key);
      const auto o = options_for(c, r);
      auto t = loss_test::tensor<std::int64_t>(c.target);
      auto g = loss_test::tensor<A>("g_" + rname);
      const Tolerance loss_tol{u, n + C, xmax}, grad_tol{u, n + C, 1.0};
      // forward (allocating), and forward into caller buffers that keep the lse
      LOSS_CHECK_CLOSE(cross_entropy(x, t, o), key, loss_tol);
      auto loss = Tensor<A>::empty(r == Reduction::none ? Shape{x.size(0)} : Shape{1});
      auto lse = Tensor<A>::empty({x.size(0)});
      cross_entropy_out(x, t, o, loss, lse);
      LOSS_CHECK_CLOSE(loss, key, loss_tol);
      // backward from the saved lse
      LOSS_CHECK_CLOSE(cross_entropy_backward(x, t, o, lse, g), key + "_dx", grad_tol);
      // one pass: loss and gradient
      auto dx = Tensor<TestType>::full(x.shape(), TestType(5.0f));
      auto loss2 = Tensor<A>::empty(loss.shape());
      cross_entropy_forward_backward_out(x, t, o, g, loss2, dx);
      LOSS_CHECK_CLOSE(loss2, key, loss_tol);
      LOSS_CHECK_CLOSE(dx, key + "_dx", grad_tol);
    }
}

TEST_CASE("cross_entropy equals nll_loss(log_softmax(x))", "[loss]") {
  auto x = loss_test::tensor<double>("x");
  auto t = loss_test::tensor<std::int64_t>("t_ign");
  const NllOptions o{.weight = loss_test::tensor<float>("w")};
  CHECK(cross_entropy(x, t, o).data()[0] == Approx(nll_loss(log_softmax(x), t, o).data()[0]).epsilon(1e-14));
}

TEST_CASE("cross_entropy is stable for logits of magnitude 1e4", "[loss]") {
  auto x = loss_test::tensor<float>("xl");
  auto t = loss_test::tensor<std::int64_t>("tl");
  const Tolerance loss_tol{u32, 7.0, 1e4}, grad_tol{u32, 7.0, 1.0};
  LOSS_CHECK_CLOSE(cross_entropy(x, t, {.reduction = Reduction::none}), "xl_ce_none", loss_tol);
  LOSS_CHECK_CLOSE(cross_entropy(x, t), "xl_ce_mean", (Tolerance{u32, 13.0, 1e4}));
  auto dx = Tensor<float>::empty(x.shape());
  auto loss = Tensor<float>::empty({1});
  cross_entropy_forward_backward_out(x, t, {}, Tensor<float>::full({1}, 1.0f), loss, dx);
  LOSS_CHECK_CLOSE(dx, "xl_ce_mean_dx", grad_tol);
  for (float v : dx) CHECK(std::isfinite(v));
}

TEST_CASE("PyTorch's edge cases: every row ignored gives NaN for the mean, 0 for the sum", "[loss]") {
  auto x = loss_test::tensor<float>("x");
  auto t = Tensor<std::int64_t>::full({x.size(0)}, -100);
  CHECK(std::isnan(cross_entropy(x, t).data()[0]));
  CHECK(cross_entropy(x, t, {.reduction = Reduction::sum}).data()[0] == 0.0f);
  auto dx = cross_entropy_backward(x, t, {.reduction = Reduction::sum}, Tensor<float>::zeros({x.size(0)}),
                                   Tensor<float>::full({1}, 1.0f));
  for (float v : dx) CHECK(v == 0.0f);
}

TEST_CASE("bad targets and shapes are reported with the row, the value and the operation", "[loss]") {
  auto x = loss_test::tensor<float>("x");
  auto t = loss_test::tensor<std::int64_t>("t");
  t.data()[5] = 37;
  CHECK_THROWS_AS(cross_entropy(x, t), IndexError);
  CHECK_THROWS_WITH(cross_entropy(x, t), Catch::Contains("target 37 at row 5") && Catch::Contains("cross_entropy"));
  t.data()[5] = -1;
  CHECK_THROWS_WITH(nll_loss(x, t), Catch::Contains("target -1 at row 5"));
  CHECK_THROWS_AS(cross_entropy(x, Tensor<std::int64_t>::zeros({3})), ShapeError);
  CHECK_THROWS_WITH(cross_entropy(x, Tensor<std::int64_t>::zeros({x.size(0)}), {.weight = Tensor<float>::full({3}, 1.0f)}),
                    Catch::Contains("weight must have shape [37]"));
  // an error leaves the caller's buffers untouched
  auto dx = Tensor<float>::full(x.shape(), 3.0f);
  auto loss = Tensor<float>::full({1}, 3.0f);
  t.data()[5] = 99;
  CHECK_THROWS(cross_entropy_forward_backward_out(x, t, {}, Tensor<float>::full({1}, 1.0f), loss, dx));
  CHECK(loss.data()[0] == 3.0f);
  for (float v : dx) CHECK(v == 3.0f);
  // the gradient cannot overwrite the logits it is computed from
  t.data()[5] = 1;
  auto xx = x.clone();
  CHECK_THROWS_WITH(cross_entropy_forward_backward_out(xx, t, {}, Tensor<float>::full({1}, 1.0f), loss, xx),
                    Catch::Contains("'dx' must not share memory with 'x'"));
}
