#pragma once
// default_loss<Target>: the loss a Learner picks when none is given, keyed on the target's type (fastai's
// Categorize -> CrossEntropyLossFlat, MultiCategorize -> BCEWithLogitsLossFlat). A target declares
// `static constexpr LossKind default_loss_kind` (core/loss_kind.hpp), or a specialization of
// default_loss<Target> names the loss and wins over the kind; with neither, default_loss_t<Target> does
// not compile and says what to do (fastai: "Could not infer loss function from the data").
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
