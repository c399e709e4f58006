#pragma once
// Block: one side of a DataBlock, after fastai's TransformBlock. A DataBlock takes an input block (what
// an item becomes: ImageBlock decodes a file into an Image) and a target block (what its label becomes:
// CategoryBlock, MultiCategoryBlock), and any types that satisfy the concepts below will do.
//
//   Block<B>            B::item_type   the type of one sample of this block (Image, Category, ...)
//                       b.name()       how summary() names the block's step
//   InputBlock<B, Item> b.create(item) -> B::item_type              decode one item (a path for ImageBlock)
//                       b.collate(samples, names) -> a batch        stack samples; names name them in errors
//                       B::batch_tfm   (optional) the transform from the collated batch to the batch the
//                                      batch transforms take (ImageBlock: IntToFloat, uint8 -> float)
//   TargetBlock<B>      B::label_type  what get_y returns for an item (std::string, std::vector<std::string>)
//                       b.setup(L<label_type> train_labels) -> a vocabulary v with
//                           v.encode(label, item_name) -> B::item_type   (throws, naming the item, on a
//                                                                          label it does not know)
//                           v.vocab() -> L<std::string>, v.size()
//                       b.collate(targets) -> the batch of targets
//                       b.captions(target batch, vocab) -> one caption per sample (show_batch)
//                       B::default_loss_kind (optional) the LossKind a Learner picks for it
//
// docs/data.md ("Blocks") says the same with examples; tests/compile_fail/data_not_a_block.cpp shows the
// message a type that is not a Block gets.
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/list.hpp"

namespace fastpp {

template <class B>
concept Block = std::copy_constructible<B> && requires(const B& b) {
  typename B::item_type;
  { b.name() } -> std::convertible_to<std::string>;
};

template <class B, class Item>
concept InputBlock = Block<B> && requires(const B& b, const Item& item, const std::vector<typename B::item_type>& samples,
                                          const std::vector<std::string>& names) {
  { b.create(item) } -> std::same_as<typename B::item_type>;
  b.collate(samples, names);
};

template <class B>
concept TargetBlock = Block<B> && requires(const B& b, const L<typename B::label_type>& labels,
                                           const typename B::label_type& label,
                                           const std::vector<typename B::item_type>& targets) {
  { b.setup(labels).encode(label, std::string()) } -> std::same_as<typename B::item_type>;
  { b.setup(labels).vocab() } -> std::convertible_to<L<std::string>>;
  { b.setup(labels).size() } -> std::convertible_to<std::int64_t>;
  { b.captions(b.collate(targets), L<std::string>{}) } -> std::convertible_to<std::vector<std::string>>;
};

// The types a block's batches have.
template <class B>
using collated_t = decltype(std::declval<const B&>().collate(std::declval<const std::vector<typename B::item_type>&>(),
                                                             std::declval<const std::vector<std::string>&>()));

namespace detail {
template <class B>
struct input_batch {
  using type = collated_t<B>;
};
template <class B>
  requires requires { typename B::batch_tfm; }
struct input_batch<B> {
  using type = std::decay_t<decltype(std::declval<const typename B::batch_tfm&>()(std::declval<const collated_t<B>&>()))>;
};
}  // namespace detail

// What an input block's batch is once its batch_tfm (if any) ran: what the batch transforms take.
template <class B>
using input_batch_t = typename detail::input_batch<B>::type;
// A target block's vocabulary and batch of targets.
template <class B>
using vocab_t = std::decay_t<decltype(std::declval<const B&>().setup(std::declval<const L<typename B::label_type>&>()))>;
template <class B>
using target_batch_t = std::decay_t<decltype(std::declval<const B&>().collate(
    std::declval<const std::vector<typename B::item_type>&>()))>;

namespace detail {
// How an item is named in errors and in summary(): a path as its string, anything else as it prints.
template <class Item>
std::string item_string(const Item& item) {
  if constexpr (std::is_convertible_v<const Item&, std::filesystem::path>) {
    return std::filesystem::path(item).string();
  } else {
    std::ostringstream os;
    os << item;
    return os.str();
  }
}

// How summary() and the DataBlock's errors show a source or an item: a path with '/' separators.
template <class Source>
std::string source_repr(const Source& s) {
  if constexpr (std::is_convertible_v<const Source&, std::filesystem::path>) {
    return std::filesystem::path(s).generic_string();
  } else {
    std::ostringstream os;
    os << s;
    return os.str();
  }
}
}  // namespace detail

}  // namespace fastpp
