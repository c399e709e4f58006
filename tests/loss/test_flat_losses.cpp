// fastai's loss objects and the default_loss<Target> customization point (a LossKind or a specialization).
#include <catch2/catch.hpp>
#include <cmath>
#include <fastpp/core/ops.hpp>
#include <fastpp/loss.hpp>

#include "fixture.hpp"

using namespace fastpp;

namespace {
// Stand-ins for the data layer's target blocks: the data area specializes default_loss for its own types.
struct SingleLabelStandIn {};
struct MultiLabelStandIn {};
struct RegressionStandIn {};
// Target blocks declare the kind of their loss (as data/'s CategoryBlock and MultiCategoryBlock do).
struct CategoryLikeBlock {
  static constexpr LossKind default_loss_kind = LossKind::cross_entropy;
};
struct MultiCategoryLikeBlock {
  static constexpr LossKind default_loss_kind = LossKind::bce_with_logits;
};
// A specialization wins over the declared kind.
struct SmoothedBlock {
  static constexpr LossKind default_loss_kind = LossKind::cross_entropy;
};
}  // namespace
template <>
struct fastpp::default_loss<SmoothedBlock> {
  using type = LabelSmoothingCrossEntropy;
};
static_assert(std::is_same_v<default_loss_t<CategoryLikeBlock>, CrossEntropyLossFlat>);
static_assert(std::is_same_v<default_loss_t<MultiCategoryLikeBlock>, BCEWithLogitsLossFlat>);
static_assert(DeclaresLossKind<SmoothedBlock> && std::is_same_v<default_loss_t<SmoothedBlock>, LabelSmoothingCrossEntropy>);
static_assert(!std::is_same_v<CrossEntropyLossFlat, LabelSmoothingCrossEntropy>);

template <>
struct fastpp::default_loss<SingleLabelStandIn> {
  using type = CrossEntropyLossFlat;
};
template <>
struct fastpp::default_loss<MultiLabelStandIn> {
  using type = BCEWithLogitsLossFlat;
};

static_assert(std::is_same_v<default_loss_t<SingleLabelStandIn>, CrossEntropyLossFlat>);
static_assert(std::is_same_v<default_loss_t<MultiLabelStandIn>, BCEWithLogitsLossFlat>);
static_assert(HasDefaultLoss<SingleLabelStandIn> && !HasDefaultLoss<RegressionStandIn>);
static_assert(AcceptsTargets<CrossEntropyLossFlat, Tensor<std::int64_t>>);
static_assert(!AcceptsTargets<CrossEntropyLossFlat, Tensor<float>>);
static_assert(AcceptsTargets<BCEWithLogitsLossFlat, Tensor<float>>);
static_assert(!AcceptsTargets<BCEWithLogitsLossFlat, Tensor<std::int64_t>>);
static_assert(AcceptsTargets<LabelSmoothingCrossEntropy, Tensor<std::int32_t>>);

TEST_CASE("default_loss_t picks the loss and the loss object computes value and gradient", "[loss]") {
  default_loss_t<SingleLabelStandIn> loss;  // CrossEntropyLossFlat, mean reduction
  auto x = loss_test::tensor<float>("x");
  auto t = loss_test::tensor<std::int64_t>("t");
  auto out = loss(x, t);
  CHECK(out.item() == Approx(loss_test::rec("ce_plain_mean").values[0]).epsilon(1e-5));
  auto dx = out.backward();
  LOSS_CHECK_CLOSE(dx * Tensor<float>::full(dx.shape(), 1.25f), "ce_plain_mean_dx",
                   (loss_test::Tolerance{loss_test::unit_roundoff<float>(), 50.0, 1.0}));  // fixture's g = 1.25
  // one pass, into a caller buffer
  auto d2 = Tensor<float>::empty(x.shape());
  auto v = loss.forward_backward(x, t, d2);
  CHECK(v.data()[0] == Approx(out.item()).epsilon(1e-6));
  CHECK(max_abs_diff(d2, dx) < 1e-7);
  // activation and decodes
  auto p = loss.activation(x);
  CHECK(max_abs_diff(p, softmax(x)) == 0.0);
  auto pred = loss.decodes(p);
  for (std::int64_t i = 0; i < x.size(0); ++i) {
    std::int64_t best = 0;
    for (std::int64_t j = 1; j < x.size(1); ++j)
      if (x(i, j) > x(i, best)) best = j;
    CHECK(pred(i) == best);
  }
}

TEST_CASE("CrossEntropyLossFlat flattens [..., C] logits and widens int32 targets", "[loss]") {
  auto x = loss_test::tensor<float>("x");            // [8, 37]
  auto x3 = x.reshape({2, 4, 37});
  auto t = loss_test::tensor<std::int64_t>("t");
  auto t32 = t.cast<std::int32_t>().reshape({2, 4});
  CrossEntropyLossFlat loss{.reduction = Reduction::none};
  auto a = loss(x3, t32);
  auto b = loss(x, t);
  CHECK(a.loss.shape() == Shape{8});
  CHECK(max_abs_diff(a.loss, b.loss) == 0.0);
  CHECK_THROWS_AS(loss(x, Tensor<std::int64_t>::zeros({3})), ShapeError);
  CHECK_THROWS_AS(a.item(), ShapeError);
  auto dx = a.backward(2.0);  // every row's upstream gradient is 2
  auto ref = cross_entropy_backward(x, t, {.reduction = Reduction::none}, b.lse, Tensor<float>::full({8}, 2.0f));
  CHECK(max_abs_diff(dx, ref) == 0.0);
}

TEST_CASE("LabelSmoothingCrossEntropy and BCEWithLogitsLossFlat objects", "[loss]") {
  auto x = loss_test::tensor<float>("x");
  auto t = loss_test::tensor<std::int64_t>("t");
  LabelSmoothingCrossEntropy ls;
  CHECK(ls(x, t).item() == Approx(loss_test::rec("ls_plain_mean").values[0]).epsilon(1e-5));
  auto d = Tensor<float>::empty(x.shape());
  ls.forward_backward(x, t, d);
  CHECK(max_abs_diff(d, ls(x, t).backward()) < 1e-7);

  auto xb = loss_test::tensor<float>("xb");
  auto yb = loss_test::tensor<float>("yb");
  BCEWithLogitsLossFlat bce;
  auto out = bce(xb, yb);
  CHECK(out.item() == Approx(loss_test::rec("bce_hard_mean").values[0]).epsilon(1e-5));
  auto flags = yb.cast<std::uint8_t>();
  CHECK(bce(xb, flags).item() == out.item());
  auto probs = bce.activation(xb);
  auto dec = bce.decodes(probs);
  for (std::int64_t i = 0; i < xb.numel(); ++i) CHECK(dec.data()[i] == (xb.data()[i] > 0.0f ? 1 : 0));
  auto g = out.backward(0.75);
  LOSS_CHECK_CLOSE(g, "bce_hard_mean_dx", (loss_test::Tolerance{loss_test::unit_roundoff<float>(), 8.0, 1.0}));
}
