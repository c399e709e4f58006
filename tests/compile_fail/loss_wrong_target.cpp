// CrossEntropyLossFlat given float targets (one-hot or multi-label) must not compile, and the message
// names the loss that takes them.
// expect: for one-hot or multi-label float targets use BCEWithLogitsLossFlat
// expect-errors: 1
#include <fastpp/loss/flat_losses.hpp>

int main() {
  auto logits = fastpp::Tensor<float>::zeros({4, 3});
  fastpp::CrossEntropyLossFlat loss;
#ifdef FASTPP_SHOULD_FAIL
  auto targets = fastpp::Tensor<float>::zeros({4, 3});
#else
  auto targets = fastpp::Tensor<std::int64_t>::zeros({4});
#endif
  return loss(logits, targets).item() > 0 ? 0 : 1;
}
