#pragma once
// default_loss<Target>: the loss a Learner picks when none is given, keyed on the target's type (fastai
// looks it up on the target block's transform: Categorize -> CrossEntropyLossFlat, MultiCategorize ->
// BCEWithLogitsLossFlat). A target type opts in with a specialization:
//   template <> struct fastpp::default_loss<CategoryBlock> { using type = CrossEntropyLossFlat; };
// default_loss_t<Target> of a type without one does not compile, with a message saying what to do
// (fastai raises "Could not infer loss function from the data, please pass a loss function").
#include <type_traits>

namespace fastpp {

template <class Target>
struct default_loss {};  // no `type`: no default loss for this target

template <class Target>
concept HasDefaultLoss = requires { typename default_loss<Target>::type; };

namespace loss_detail {
struct no_default_loss {
  using type = void;
};
template <class Target>
struct checked_default_loss {
  static_assert(HasDefaultLoss<Target>,
                "no default loss for this target type: pass a loss to the Learner explicitly, or specialize "
                "fastpp::default_loss<Target> with `using type = CrossEntropyLossFlat;` (or another loss)");
  using type = typename std::conditional_t<HasDefaultLoss<Target>, default_loss<Target>, no_default_loss>::type;
};
}  // namespace loss_detail

template <class Target>
using default_loss_t = typename loss_detail::checked_default_loss<Target>::type;

}  // namespace fastpp
