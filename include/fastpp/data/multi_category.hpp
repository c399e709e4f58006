#pragma once
// Multi-label classification targets, after fastai's MultiCategoryBlock (MultiCategorize + OneHotEncode):
// get_y returns several labels per item (std::vector<std::string>, possibly none); the vocabulary is every
// label seen in the TRAINING split, sorted in byte order as fastai's MultiCategorize; a target is the
// item's labels and their one-hot row over the vocabulary, and a batch of targets is float [N, n_classes]
// (what BCEWithLogitsLossFlat takes, the loss the block names).
#include <cstdint>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/list.hpp"
#include "../core/loss_kind.hpp"
#include "../core/tensor.hpp"
#include "category.hpp"

namespace fastpp {

// The target of one item: its labels, their indices in the vocabulary, and the vocabulary's size.
struct MultiCategory {
  static constexpr LossKind default_loss_kind = LossKind::bce_with_logits;
  std::vector<std::int64_t> indices;
  std::vector<std::string> labels;
  std::int64_t n_classes = 0;

  // 1 at each label's index, 0 elsewhere (fastai's OneHotEncode).
  std::vector<float> one_hot() const {
    std::vector<float> row(static_cast<std::size_t>(n_classes), 0.0f);
    for (auto i : indices) row[static_cast<std::size_t>(i)] = 1.0f;
    return row;
  }
  friend bool operator==(const MultiCategory& a, const MultiCategory& b) {
    return a.indices == b.indices && a.labels == b.labels && a.n_classes == b.n_classes;
  }
  friend std::ostream& operator<<(std::ostream& os, const MultiCategory& m) {
    os << "MultiCategory([";
    for (std::size_t i = 0; i < m.labels.size(); ++i) os << (i ? ", " : "") << '\'' << m.labels[i] << '\'';
    os << "] of " << m.n_classes << " classes)";
    return os;
  }
};

// The vocabulary of a MultiCategoryBlock: label <-> index, each label of an item encoded on its own.
class MultiCategoryMap {
 public:
  MultiCategoryMap() = default;
  explicit MultiCategoryMap(std::vector<std::string> labels) : map_(std::move(labels)) {}

  const L<std::string>& vocab() const noexcept { return map_.vocab(); }
  std::int64_t size() const noexcept { return map_.size(); }

  // The target of an item's labels; `item` names the item in the error for a label outside the vocabulary.
  MultiCategory encode(const std::vector<std::string>& labels, const std::string& item = "") const {
    MultiCategory m{{}, labels, size()};
    for (const auto& l : labels) m.indices.push_back(map_.encode(l, item).index);
    return m;
  }

 private:
  CategoryMap map_;
};

// The target block of multi-label classification.
struct MultiCategoryBlock {
  using item_type = MultiCategory;
  using label_type = std::vector<std::string>;  // what get_y returns: every label of the item
  static constexpr LossKind default_loss_kind = LossKind::bce_with_logits;
  // When given, the vocabulary in this order; else every training label, sorted (byte order).
  std::vector<std::string> vocab = {};

  MultiCategoryMap setup(const L<std::vector<std::string>>& train_labels) const {
    if (!vocab.empty()) return MultiCategoryMap(vocab);
    std::set<std::string> seen;  // std::string's order is byte order, Python's sort of str
    for (const auto& labels : train_labels) seen.insert(labels.begin(), labels.end());
    return MultiCategoryMap(std::vector<std::string>(seen.begin(), seen.end()));
  }
  std::string name() const { return "MultiCategorize -- {'add_na': False} -> OneHotEncode"; }

  // The targets of a batch, one-hot: float [N, n_classes].
  Tensor<float, cpu> collate(const std::vector<MultiCategory>& targets) const {
    check(!targets.empty(), "MultiCategoryBlock: no targets to put in a batch");
    const std::int64_t c = targets[0].n_classes;
    auto y = Tensor<float, cpu>::zeros({static_cast<std::int64_t>(targets.size()), c});
    for (std::size_t i = 0; i < targets.size(); ++i) {
      check(targets[i].n_classes == c, "MultiCategoryBlock: targets of ", c, " and ", targets[i].n_classes,
            " classes in one batch");
      for (auto k : targets[i].indices) y.data()[static_cast<std::int64_t>(i) * c + k] = 1.0f;
    }
    return y;
  }
  // The labels of each target of a batch, joined with ';' as fastai shows them (show_batch's captions).
  std::vector<std::string> captions(const Tensor<float, cpu>& y, const L<std::string>& vocab) const {
    check<ShapeError>(y.rank() == 2 && y.size(1) == vocab.size(), "MultiCategoryBlock: targets ", y.shape(),
                      " do not fit a vocabulary of ", vocab.size(), " labels");
    std::vector<std::string> out;
    for (std::int64_t i = 0; i < y.size(0); ++i) {
      std::string caption;
      for (std::int64_t k = 0; k < y.size(1); ++k)
        if (y.data()[i * y.size(1) + k] > 0.5f) caption += (caption.empty() ? "" : ";") + vocab[k];
      out.push_back(caption);
    }
    return out;
  }
};

}  // namespace fastpp
