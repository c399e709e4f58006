// fastai's label-smoothing cross-entropy and PyTorch's binary_cross_entropy_with_logits.
#include <catch2/catch.hpp>
#include <fastpp/loss.hpp>
#include <string>

#include "fixture.hpp"

using namespace fastpp;
using loss_test::Tolerance;

using loss_test::reductions;

TEMPLATE_TEST_CASE("label smoothing cross-entropy follows fastai's formula (eps = 0.1)", "[loss]", float, double) {
  using A = acc_t<TestType>;
  auto x = loss_test::tensor<TestType>("x");
  const double n = static_cast<double>(x.size(0)), C = static_cast<double>(x.size(1));
  const double xmax = loss_test::max_abs(loss_test::rec("x").values);
  const double u = loss_test::unit_roundoff<TestType>();
  const std::pair<std::string, std::string> cases[] = {{"plain", "t"}, {"w", "t"}, {"w_ign", "t_ign"}};
  for (const auto& [cname, target] : cases)
    for (const auto& [r, rname] : reductions) {
      const std::string key = "ls_" + cname + "_" + rname;
      INFO(key);
      const LabelSmoothingOptions o{.eps = 0.1,
                                    .weight = cname == "plain" ? Tensor<float>{} : loss_test::tensor<float>("w"),
                                    .reduction = r};
      auto t = loss_test::tensor<std::int64_t>(target);
      auto g = loss_test::tensor<A>("g_" + rname);
      // the smoothing term sums C log-probabilities of size ~xmax: its error grows with C * xmax
      const Tolerance loss_tol{u, n + C, C * xmax}, grad_tol{u, n + C, 1.0};
      LOSS_CHECK_CLOSE(cross_entropy(x, t, o), key, loss_tol);
      auto loss = Tensor<A>::empty(r == Reduction::none ? Shape{x.size(0)} : Shape{1});
      auto lse = Tensor<A>::empty({x.size(0)});
      cross_entropy_out(x, t, o, loss, lse);
      auto dx = Tensor<TestType>::empty(x.shape());
      cross_entropy_backward_out(x, t, o, lse, g, dx);
      LOSS_CHECK_CLOSE(dx, key + "_dx", grad_tol);
      auto dx2 = Tensor<TestType>::empty(x.shape());
      cross_entropy_forward_backward_out(x, t, o, g, loss, dx2);
      LOSS_CHECK_CLOSE(loss, key, loss_tol);
      LOSS_CHECK_CLOSE(dx2, key + "_dx", grad_tol);
    }
}

TEST_CASE("label smoothing with eps = 0 is cross-entropy", "[loss]") {
  auto x = loss_test::tensor<double>("x");
  auto t = loss_test::tensor<std::int64_t>("t_ign");
  CHECK(cross_entropy(x, t, LabelSmoothingOptions{.eps = 0.0}).data()[0] ==
        Approx(cross_entropy(x, t).data()[0]).epsilon(1e-14));
  CHECK_THROWS_WITH(cross_entropy(x, t, LabelSmoothingOptions{.eps = 1.5}), Catch::Contains("eps must be in [0, 1]"));
}

TEMPLATE_TEST_CASE("binary_cross_entropy_with_logits matches PyTorch", "[loss]", float, double) {
  using A = acc_t<TestType>;
  auto x = loss_test::tensor<TestType>("xb");
  const double numel = static_cast<double>(x.numel());
  const double u = loss_test::unit_roundoff<TestType>();
  const double xmax = loss_test::max_abs(loss_test::rec("xb").values);
  struct Case {
    std::string name, target;
    bool weighted;
  };
  const Case cases[] = {{"hard", "yb", false}, {"soft", "ys", false}, {"w_pw", "yb", true}, {"soft_w_pw", "ys", true}};
  for (const auto& c : cases)
    for (const auto& [r, rname] : reductions) {
      const std::string key = "bce_" + c.name + "_" + rname;
      INFO(key);
      const BceOptions o{.weight = c.weighted ? loss_test::tensor<float>("wb") : Tensor<float>{},
                         .pos_weight = c.weighted ? loss_test::tensor<float>("pwb") : Tensor<float>{},
                         .reduction = r};
      auto y = loss_test::tensor<TestType>(c.target);
      auto g = loss_test::tensor<A>("gb_" + rname);
      // weights up to ~3.2 multiply the elements
      LOSS_CHECK_CLOSE(binary_cross_entropy_with_logits(x, y, o), key, (Tolerance{u, numel, 4 * xmax}));
      LOSS_CHECK_CLOSE(binary_cross_entropy_with_logits_backward(x, y, o, g), key + "_dx", (Tolerance{u, 8.0, 4.0}));
    }
}

TEST_CASE("binary_cross_entropy_with_logits is stable for logits of magnitude 1e4", "[loss]") {
  auto x = loss_test::tensor<float>("xl");
  auto y = loss_test::tensor<float>("ylb");
  auto loss = binary_cross_entropy_with_logits(x, y, {.reduction = Reduction::sum});
  CHECK(std::isfinite(loss.data()[0]));
  LOSS_CHECK_CLOSE(loss, "xl_bce_sum", (Tolerance{loss_test::unit_roundoff<float>(), 42.0, 1e4}));
  LOSS_CHECK_CLOSE(binary_cross_entropy_with_logits_backward(x, y, {.reduction = Reduction::sum}, Tensor<float>::full({1}, 1.0f)),
                   "xl_bce_sum_dx", (Tolerance{loss_test::unit_roundoff<float>(), 8.0, 1.0}));
}
