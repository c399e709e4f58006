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

namespace loss_detail {
// default_loss<Target>'s loss rebuilt for logits on device D (a specialization naming a loss without on<D>
// is used as it is, and then holds only for its own device). The static_assert is the one error a target
// without a default loss gets.
template <class Target, class D>
auto default_loss_on() {
  static_assert(HasDefaultLoss<Target>,
                "no default loss for this target type: pass a loss to the Learner explicitly, or declare "
                "`static constexpr fastpp::LossKind default_loss_kind = fastpp::LossKind::cross_entropy;` in it, or "
                "specialize fastpp::default_loss<Target> with `using type = CrossEntropyLossFlat;` (or another loss)");
  if constexpr (!HasDefaultLoss<Target>) return std::type_identity<void>{};
  else if constexpr (requires { typename default_loss<Target>::type::template on<D>; })
    return std::type_identity<typename default_loss<Target>::type::template on<D>>{};
  else return std::type_identity<typename default_loss<Target>::type>{};
}
}  // namespace loss_detail

// The loss a Learner picks for Target when its logits live on device D.
template <class Target, class D = cpu>
using default_loss_t = typename decltype(loss_detail::default_loss_on<Target, D>())::type;

}  // namespace fastpp
