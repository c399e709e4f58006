#pragma once
// Single-label classification targets: Category (the target type), CategoryMap (the vocabulary) and
// CategoryBlock (the block that builds it), after fastai's Categorize / CategoryMap / CategoryBlock.
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

namespace fastpp {

// The target of one item: its index in the vocabulary and the label it stands for.
struct Category {
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
};

// The loss a Learner picks for a target type. The primary template lives with the losses
// (include/fastpp/loss/); declaring it here keeps data/ free of a dependency on loss/: the
// specialisation below is what makes vision_learner pick cross-entropy for a CategoryBlock.
template <class Target>
struct default_loss;
struct CrossEntropyLossFlat;

template <>
struct default_loss<Category> {
  using type = CrossEntropyLossFlat;
};
// Keyed on the block as well, for code that looks the loss up by block (DESIGN.md writes
// default_loss_t<CategoryBlock>).
template <>
struct default_loss<CategoryBlock> {
  using type = CrossEntropyLossFlat;
};

}  // namespace fastpp
