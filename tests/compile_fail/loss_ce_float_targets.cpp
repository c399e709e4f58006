// cross_entropy (the free function) given float targets must not compile, and the message names the
// losses that take one-hot or multi-label targets (it used to be "class-index targets must be a tensor of
// int64, int32 or uint8", without the fix).
// expect: for one-hot or multi-label float targets use BCEWithLogitsLossFlat or binary_cross_entropy_with_logits
// expect-errors: 1
#include <fastpp/loss.hpp>

int main() {
  auto logits = fastpp::Tensor<float>::zeros({4, 3});
#ifdef FASTPP_SHOULD_FAIL
  auto targets = fastpp::Tensor<float>::zeros({4, 3});
#else
  auto targets = fastpp::Tensor<std::int32_t>::zeros({4});  // int32 class indices are accepted
#endif
  return fastpp::cross_entropy(logits, targets).numel() == 1 ? 0 : 1;
}
