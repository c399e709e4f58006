#pragma once
// default_loss<Target>: the loss a Learner picks when none is given, keyed on the target's type (fastai
// looks it up on the target block's transform: Categorize -> CrossEntropyLossFlat, MultiCategorize ->
// BCEWithLogitsLossFlat). A target type opts in by declaring the kind of its loss (core/loss_kind.hpp):
//   struct CategoryBlock { static constexpr LossKind default_loss_kind = LossKind::cross_entropy; ... };
// or with a specialization, which wins over the kind:
//   template <> struct fastpp::default_loss<MyTarget> { using type = CrossEntropyLossFlat; };
// default_loss_t<Target> of a type with neither does not compile, with a message saying what to do
// (fastai raises "Could not infer loss function from the data, please pass a loss function").
#include <concepts>
#include <type_traits>

#include "../core/loss_kind.hpp"
#include "flat_losses.hpp"

namespace fastpp {

template <class Target>
concept DeclaresLossKind = requires {
  { Target::default_loss_kind } -> std::convertible_to<LossKind>;
};

template <class Target>
struct default_loss {};  // no `type`: no default loss for this target
template <DeclaresLossKind Target>
struct default_loss<Target> {
  using type = FlatLoss<Target::default_loss_kind>;
};

template <class Target>
concept HasDefaultLoss = requires { typename default_loss<Target>::type; };

// default_loss_t: the static_assert below is the one error a target without a default loss gets.
namespace loss_detail {
template <class Target>
struct checked_default_loss {
  static_assert(HasDefaultLoss<Target>,
                "no default loss for this target type: pass a loss to the Learner explicitly, or declare "
                "`static constexpr fastpp::LossKind default_loss_kind = fastpp::LossKind::cross_entropy;` in it, or "
                "specialize fastpp::default_loss<Target> with `using type = CrossEntropyLossFlat;` (or another loss)");
  using type = void;
};
template <HasDefaultLoss Target>
struct checked_default_loss<Target> {
  using type = typename default_loss<Target>::type;
};

// The loss rebuilt for logits on device D; a specialization naming a loss without `on<D>` is used as it
// is (and then holds only for its own device).
template <class Loss, class D>
struct loss_on_device {
  using type = Loss;
};
template <class Loss, class D>
  requires requires { typename Loss::template on<D>; }
struct loss_on_device<Loss, D> {
  using type = typename Loss::template on<D>;
};
}  // namespace loss_detail

// The loss a Learner picks for Target when its logits live on device D.
template <class Target, class D = cpu>
using default_loss_t =
    typename loss_detail::loss_on_device<typename loss_detail::checked_default_loss<Target>::type, D>::type;

}  // namespace fastpp
