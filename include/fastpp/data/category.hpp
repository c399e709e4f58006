#pragma once
// Single-label classification targets: Category (the target type), CategoryMap (the vocabulary) and
// CategoryBlock (the block that builds it), after fastai's Categorize / CategoryMap / CategoryBlock.
// CategoryBlock is a TargetBlock (block.hpp): a batch of its targets is int64 [N], class indices.
//
// The vocabulary comes from the TRAINING split only and is sorted in byte order (Python's str order:
// "Bengal" before "beagle"). A validation label outside it is an error naming the item and the label
// (fastai raises the same, lazily, in the middle of training; we check every label up front).
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/list.hpp"
#include "../core/loss_kind.hpp"
#include "../core/tensor.hpp"

namespace fastpp {

// The target of one item: its index in the vocabulary and the label it stands for.
struct Category {
  // The loss a Learner picks for this target (loss/default_loss.hpp reads it): cross-entropy, as fastai.
  static constexpr LossKind default_loss_kind = LossKind::cross_entropy;
  std::int64_t index = -1;
  std::string label;
  friend bool operator==(const Category& a, const Category& b) { return a.index == b.index && a.label == b.label; }
  friend std::ostream& operator<<(std::ostream& os, const Category& c) {
    return os << "Category(" << c.index << ", '" << c.label << "')";
  }
};

// The vocabulary of a CategoryBlock: label <-> index.
class CategoryMap {
 public:
  CategoryMap() = default;
  explicit CategoryMap(std::vector<std::string> labels) : vocab_(std::move(labels)) {
    for (std::int64_t i = 0; i < vocab_.size(); ++i) {
      const bool fresh = o2i_.emplace(vocab_[i], i).second;
      check(fresh, "CategoryMap: the label '", vocab_[i], "' appears twice in the vocabulary");
    }
  }

  const L<std::string>& vocab() const noexcept { return vocab_; }
  std::int64_t size() const noexcept { return vocab_.size(); }
  bool contains(const std::string& label) const { return o2i_.count(label) != 0; }

  // The category of `label`; `item` names the item in the error when the label is unknown.
  Category encode(const std::string& label, const std::string& item = "") const {
    auto it = o2i_.find(label);
    if (it == o2i_.end())
      throw ValueError("Label '" + label + "' was not included in the training dataset" +
                       (item.empty() ? std::string() : " (item: " + item + ")") +
                       ". Every class needs at least one training item: move an item of this class into the training "
                       "split (another seed or splitter), or give the vocabulary explicitly with CategoryBlock{.vocab = "
                       "{...}}");
    return Category{it->second, label};
  }
  Category decode(std::int64_t index) const {
    check<IndexError>(index >= 0 && index < size(), "category index ", index, " is out of range for a vocabulary of ",
                      size(), " labels");
    return Category{index, vocab_[index]};
  }

 private:
  L<std::string> vocab_;
  std::map<std::string, std::int64_t> o2i_;
};

// The target block of single-label classification.
struct CategoryBlock {
  using item_type = Category;
  using label_type = std::string;  // what get_y returns
  static constexpr LossKind default_loss_kind = LossKind::cross_entropy;
  // When given, the vocabulary in this order (as fastai's CategoryBlock(vocab=...)); else it is built from
  // the training labels.
  std::vector<std::string> vocab = {};
  bool sort = true;  // sort the built vocabulary (byte order); false keeps first-appearance order

  CategoryMap setup(const L<std::string>& train_labels) const {
    if (!vocab.empty()) return CategoryMap(vocab);
    auto uniq = train_labels.unique();
    return CategoryMap(sort ? uniq.sorted().vec() : uniq.vec());
  }
  std::string name() const { return detail::msg("Categorize -- {'sort': ", sort ? "True" : "False", "}"); }

  // The targets of a batch: their class indices, int64 [N].
  Tensor<std::int64_t, cpu> collate(const std::vector<Category>& targets) const {
    auto y = Tensor<std::int64_t, cpu>::empty({static_cast<std::int64_t>(targets.size())});
    for (std::size_t i = 0; i < targets.size(); ++i) y.data()[i] = targets[i].index;
    return y;
  }
  // The label of each target of a batch (show_batch's captions).
  std::vector<std::string> captions(const Tensor<std::int64_t, cpu>& y, const L<std::string>& vocab) const {
    std::vector<std::string> out;
    for (std::int64_t i = 0; i < y.numel(); ++i) out.push_back(vocab[y.data()[i]]);
    return out;
  }
};

}  // namespace fastpp
