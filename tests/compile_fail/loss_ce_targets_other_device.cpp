// cross_entropy given targets on another device than the logits must not compile, and the message says to
// move them (it used to be "no matching function for call to cross_entropy").
// expect: class-index targets are a tensor of int64, int32 or uint8 on the logits' device (move them there with .to<Device>())
// expect-errors: 1
#include <fastpp/loss.hpp>

int main() {
  auto logits = fastpp::Tensor<float>::zeros({4, 3});
#ifdef FASTPP_SHOULD_FAIL
  fastpp::Tensor<std::int64_t, fastpp::cuda> targets;
#else
  auto targets = fastpp::Tensor<std::int64_t>::zeros({4});
#endif
  return fastpp::cross_entropy(logits, targets, {.reduction = fastpp::Reduction::sum}).numel() == 1 ? 0 : 1;
}
