// binary_cross_entropy_with_logits (the free function) given class indices must not compile, and the
// message says what it takes and names the loss for class indices (it used to be "no matching function").
// expect: binary_cross_entropy_with_logits takes targets of the logits' dtype on their device
// expect-errors: 1
#include <fastpp/loss.hpp>

int main() {
  auto logits = fastpp::Tensor<float>::zeros({4, 3});
#ifdef FASTPP_SHOULD_FAIL
  auto targets = fastpp::Tensor<std::int64_t>::zeros({4, 3});
#else
  auto targets = fastpp::Tensor<float>::zeros({4, 3});
#endif
  return fastpp::binary_cross_entropy_with_logits(logits, targets).numel() == 1 ? 0 : 1;
}
