// binary_cross_entropy_with_logits_backward given targets on another device than the logits must not
// compile, and the message says how to convert them (it used to be "no matching function").
// expect: convert them first (targets.cast<float>(), .to<Device>())
// expect-errors: 1
#include <fastpp/loss.hpp>

int main() {
  auto logits = fastpp::Tensor<float>::zeros({4, 3});
#ifdef FASTPP_SHOULD_FAIL
  fastpp::Tensor<float, fastpp::cuda> targets;
#else
  auto targets = fastpp::Tensor<float>::zeros({4, 3});
#endif
  const auto grad = fastpp::Tensor<float>::full({1}, 1.0f);
  return fastpp::binary_cross_entropy_with_logits_backward(logits, targets, {}, grad).numel() == 12 ? 0 : 1;
}
