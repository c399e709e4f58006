#pragma once
// How a target block names the loss a Learner should pick for it, without depending on loss/ (data/
// sits beside loss/, not above it). A block declares
//   static constexpr LossKind default_loss_kind = LossKind::cross_entropy;
// and loss/default_loss.hpp maps the kind to the loss object (fastai: Categorize -> CrossEntropyLossFlat,
// MultiCategorize -> BCEWithLogitsLossFlat).
namespace fastpp {

enum class LossKind {
  cross_entropy,    // single label, class indices: CrossEntropyLossFlat
  bce_with_logits,  // several labels, one-hot float targets: BCEWithLogitsLossFlat
};

}  // namespace fastpp
