// default_loss_t of a target type that names no default loss must not compile, and the message says
// how to give it one.
// expect: no default loss for this target type
#include <fastpp/loss/default_loss.hpp>
#include <fastpp/loss/flat_losses.hpp>

struct MyTarget {};
#ifndef FASTPP_SHOULD_FAIL
template <>
struct fastpp::default_loss<MyTarget> {
  using type = fastpp::CrossEntropyLossFlat;
};
#endif

int main() {
  fastpp::default_loss_t<MyTarget> loss;
  return loss.ignore_index == -100 ? 0 : 1;
}
