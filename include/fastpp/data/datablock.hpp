#pragma once
// DataBlock: how to get items, split them, label them and transform them, as types.
//
//   auto pets = DataBlock{blocks<ImageBlock, CategoryBlock>,
//                         get_image_files,
//                         RandomSplitter{.valid_pct = 0.2, .seed = 42},
//                         using_attr(RegexLabeller{R"((.+)_\d+.jpg$)"}, file_name),
//                         item_tfms(Resize{460}),
//                         batch_tfms(aug_transforms({.size = 224, .min_scale = 0.75}))};
//   pets.summary(path);                       // every step for one item and one batch
//   auto dls = pets.dataloaders(path, {.bs = 64});
//
// The blocks are any types that satisfy the concepts of block.hpp (docs/data.md, "Blocks"): ImageBlock and
// CategoryBlock as above, MultiCategoryBlock for several labels per item, or one of your own. The sample
// type is the input block's (ImageBlock: Image), the target the target block's (CategoryBlock: Category),
// and every transform is checked against them when the DataBlock is built. Labels are
// computed for every item up front, so a file the labeller cannot read or a validation label missing
// from the training vocabulary is reported before the first batch, naming the file.
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/list.hpp"
#include "../core/thread_pool.hpp"
#include "../vision/transform.hpp"
#include "block.hpp"
#include "category.hpp"
#include "dataloader.hpp"
#include "image_block.hpp"
#include "labellers.hpp"
#include "pipeline.hpp"
#include "splitters.hpp"
#include "summary.hpp"

namespace fastpp {

// What a DataBlock resolves a source to: the items, the split, every item's label and the vocabulary.
template <class Item, class Label = std::string, class Vocab = CategoryMap>
struct Datasets {
  L<Item> items;
  Splits splits;
  std::vector<Label> labels;  // labels[i] of items[i]; empty for items in neither split
  Vocab vocab;
  L<BadItem> bad_items;  // left out by BadItems::skip
};

namespace detail {
template <class T>
inline constexpr bool always_false = false;

}  // namespace detail

template <class XBlock, class YBlock, class GetItems, class Splitter, class GetY>
class DataBlock {
  static_assert(Block<XBlock>,
                "DataBlock: the input block is not a Block: give it `using item_type = ...;` (what one item becomes, "
                "e.g. Image) and `std::string name() const`, as ImageBlock (the Block concept: data/block.hpp)");
  static_assert(Block<YBlock>,
                "DataBlock: the target block is not a Block: give it `using item_type = ...;` (e.g. Category) and "
                "`std::string name() const`, as CategoryBlock (the Block concept: data/block.hpp)");
  static_assert(!Block<YBlock> || TargetBlock<YBlock>,
                "DataBlock: the target block is not a TargetBlock: it needs `using label_type = ...;`, setup(labels) "
                "returning a vocabulary with encode(label, item_name), vocab() and size(), collate(targets) and "
                "captions(batch, vocab), as CategoryBlock (data/block.hpp)");

 public:
  using x_type = typename XBlock::item_type;
  using y_type = typename YBlock::item_type;
  using label_type = typename YBlock::label_type;
  using vocab_type = vocab_t<YBlock>;
  using x_batch = input_batch_t<XBlock>;

  template <class... Tfms>
  DataBlock(Blocks<XBlock, YBlock> blocks, GetItems get_items, Splitter splitter, GetY get_y, Tfms... tfms)
      : x_block_(std::move(blocks.x)),
        y_block_(std::move(blocks.y)),
        get_items_(std::move(get_items)),
        splitter_(std::move(splitter)),
        get_y_(std::move(get_y)) {
    (add(tfms), ...);
    detail::sort_by_order(item_steps_);
    detail::sort_by_order(batch_steps_);
    tell_decoder_min_size();
  }

  const std::vector<PipelineStep<x_type, ItemContext>>& item_steps() const { return item_steps_; }
  const std::vector<PipelineStep<x_batch, BatchContext>>& batch_steps() const { return batch_steps_; }

  // Items, split, labels and vocabulary for a source (e.g. a folder), with every error naming its item.
  template <class Source>
  auto datasets(const Source& source) const {
    auto ds = collect(source);
    ds.splits = split(ds.items);
    label_all(ds);
    return ds;
  }

  template <class Source>
  auto dataloaders(const Source& source, const DataLoaderOptions& opts = {}) const {
    check(opts.bs >= 1, "dataloaders: bs must be at least 1, got ", opts.bs);
    check(opts.val_bs >= 0, "dataloaders: val_bs must be 0 (same as bs) or more, got ", opts.val_bs);
    // A negative depth was silently replaced by the default; it is a mistake, so say so.
    check(opts.prefetch >= 0, "dataloaders: prefetch must be 0 (default: 2 x num_workers) or more, got ", opts.prefetch);
    using Item = item_t<Source>;
    detail::LoaderThreads threads;
    threads.num_workers = detail::resolve_num_workers(opts.num_workers);
    threads.pool = std::make_shared<ThreadPool>(threads.num_workers + 1);
    threads.prefetch = opts.prefetch > 0 ? opts.prefetch : std::max(1, 2 * threads.num_workers);

    auto ds = collect(source);
    ds.splits = split(ds.items);
    if (opts.on_bad_item == BadItems::skip) skip_bad_items(ds, *threads.pool, opts.report ? *opts.report : std::cerr);
    label_all(ds);
    // With drop_last, a batch larger than the training split leaves the train loader without a batch:
    // every epoch would do nothing, without a word.
    const auto n_train = static_cast<std::int64_t>(ds.splits.train.size());
    check(!(opts.drop_last && n_train > 0 && opts.bs > n_train), "dataloaders: bs = ", opts.bs,
          " is larger than the training split (", n_train, " items): with drop_last the train loader would have no "
          "batch and every epoch would do nothing; use bs <= ", n_train, " or drop_last = false");

    auto make = [&](const std::vector<std::int64_t>& idxs, Split which) {
      const bool train = which == Split::train;
      auto d = loader_data(ds, idxs, which, opts.seed, train || opts.val_bs == 0 ? opts.bs : opts.val_bs);
      d->shuffle = train && opts.shuffle;
      d->drop_last = train && opts.drop_last;
      return DataLoaderOf<Item, XBlock, YBlock>(std::move(d), threads);
    };
    DataLoadersOf<Item, XBlock, YBlock> dls;
    dls.train = make(ds.splits.train, Split::train);
    dls.valid = make(ds.splits.valid, Split::valid);
    dls.vocab = ds.vocab.vocab();
    dls.c = ds.vocab.size();
    dls.bad_items = ds.bad_items;
    return dls;
  }

  // Prints every step for the first training item and a batch of the first bs training items, as
  // fastai's DataBlock.summary. Where a step throws, prints the step, its input and the error, then
  // rethrows it.
  template <class Source>
  void summary(const Source& source, std::ostream& os = std::cout, std::int64_t bs = 4) const {
    detail::print_summary(*this, source, os, bs);
  }

 private:
  template <class DB, class Source>
  friend void detail::print_summary(const DB&, const Source&, std::ostream&, std::int64_t);

  // The loader's data for the items `idxs` of a labelled dataset: what dataloaders() builds each loader
  // from, and what summary() builds its batch with.
  template <class Item>
  auto loader_data(const Datasets<Item, label_type, vocab_type>& ds, const std::vector<std::int64_t>& idxs, Split which,
                   std::uint64_t seed, std::int64_t bs) const {
    auto d = std::make_shared<detail::LoaderData<Item, XBlock, YBlock>>();
    d->x_block = x_block_;
    d->y_block = y_block_;
    for (auto i : idxs) {
      d->items.push_back(ds.items[i]);
      d->targets.push_back(ds.vocab.encode(ds.labels[static_cast<std::size_t>(i)], item_name(ds.items[i])));
    }
    d->load_name = step_name(x_block_, "load");
    d->item_steps = item_steps_;
    d->batch_steps = batch_steps_;
    d->split = which;
    d->seed = seed;
    d->bs = bs;
    return d;
  }

  // Presizing's first step (Resize(460)) says what it needs from the decoder, so a large JPEG is decoded at
  // 1/2, 1/4 or 1/8 scale instead of whole (DecodeOptions::min_size). Only for fastpp's own decoder, only
  // when the first item step says (a transform before it could need more pixels), and not when the block
  // asked for full decodes (.decode.dct_scaling = false) or set min_size itself.
  void tell_decoder_min_size() {
    if constexpr (requires { x_block_.decode.min_size; x_block_.uses_default_loader(); }) {
      if (item_steps_.empty() || item_steps_.front().min_decode.empty()) return;
      if (!x_block_.uses_default_loader() || !x_block_.decode.dct_scaling || !x_block_.decode.min_size.empty()) return;
      x_block_.decode.min_size = item_steps_.front().min_decode;
    }
  }

  template <class... Ts>
  void add(const ItemTfms<Ts...>& t) {
    detail::append_item_steps<x_type>(item_steps_, t.tfms);
  }
  template <class... Ts>
  void add(const BatchTfms<Ts...>& t) {
    detail::append_batch_steps<x_batch>(batch_steps_, t.tfms);
  }
  template <class T>
  void add(const T&) {
    static_assert(detail::always_false<T>,
                  "DataBlock: after blocks, get_items, splitter and get_y come only item_tfms(...) and batch_tfms(...)");
  }

  template <class Source>
  using item_t = std::decay_t<decltype(*std::begin(std::declval<const GetItems&>()(std::declval<const Source&>())))>;

  template <class Item>
  static std::string item_name(const Item& item) {
    return detail::source_repr(item);
  }

  template <class Source>
  auto collect(const Source& source) const {
    using Item = item_t<Source>;
    static_assert(InputBlock<XBlock, Item>,
                  "DataBlock: the input block cannot make a sample of the items get_items returns: it needs "
                  "`item_type create(const Item&) const` and collate(samples, names) (an ImageBlock loads files, so "
                  "get_items must return paths, e.g. get_image_files; data/block.hpp)");
    static_assert(std::is_invocable_v<const GetY&, const Item&>, "DataBlock: get_y must be callable with one item");
    static_assert(std::is_convertible_v<std::invoke_result_t<const GetY&, const Item&>, label_type>,
                  "DataBlock: get_y must turn an item into a label of the target block's label_type (std::string for "
                  "a CategoryBlock, std::vector<std::string> for a MultiCategoryBlock)");
    Datasets<Item, label_type, vocab_type> ds;
    auto found = get_items_(source);
    ds.items = L<Item>(std::begin(found), std::end(found));
    if (ds.items.empty())
      throw ValueError(detail::msg(step_name(get_items_, "get_items"), " found no items in ", detail::source_repr(source),
                                   " (get_image_files looks for image files such as .jpg/.png, in subfolders too; "
                                   "hidden files and folders are skipped)"));
    return ds;
  }

  template <class Item>
  Splits split(const L<Item>& items) const {
    Splits s = splitter_(items);
    const std::int64_t n = items.size();
    std::vector<char> seen(static_cast<std::size_t>(n), 0);
    for (const auto* part : {&s.train, &s.valid})
      for (auto i : *part) {
        check<IndexError>(i >= 0 && i < n, step_name(splitter_, "splitter"), " returned index ", i, " for ", n, " items");
        check(!seen[static_cast<std::size_t>(i)], step_name(splitter_, "splitter"), " put item ", i, " (",
              item_name(items[i]), ") in the splits twice");
        seen[static_cast<std::size_t>(i)] = 1;
      }
    check(!s.train.empty(), "DataBlock: the training split is empty (", n, " items, ", s.valid.size(),
          " in valid) with ", step_name(splitter_, "splitter"),
          ": check the splitter (GrandparentSplitter wants <root>/train/<class>/<file> and <root>/valid/...)");
    return s;
  }

  // The label of one item; any error names the item and the getter.
  template <class Item>
  label_type label(const Item& item) const {
    try {
      return label_type(get_y_(item));
    } catch (const std::exception& e) {
      throw ValueError(detail::msg(step_name(get_y_, "get_y"), " failed on ", item_name(item), ": ", e.what()));
    }
  }

  template <class Item>
  void label_all(Datasets<Item, label_type, vocab_type>& ds) const {
    ds.labels.assign(static_cast<std::size_t>(ds.items.size()), label_type());
    L<label_type> train_labels;
    for (auto i : ds.splits.train) {
      ds.labels[static_cast<std::size_t>(i)] = label(ds.items[i]);
      train_labels.push_back(ds.labels[static_cast<std::size_t>(i)]);
    }
    for (auto i : ds.splits.valid) ds.labels[static_cast<std::size_t>(i)] = label(ds.items[i]);
    ds.vocab = y_block_.setup(train_labels);
    for (auto i : ds.splits.valid) (void)ds.vocab.encode(ds.labels[static_cast<std::size_t>(i)], item_name(ds.items[i]));
    for (auto i : ds.splits.train) (void)ds.vocab.encode(ds.labels[static_cast<std::size_t>(i)], item_name(ds.items[i]));
  }

  // Decodes every item once (on the loader threads) and drops those that fail, reporting them together.
  template <class Item>
  void skip_bad_items(Datasets<Item, label_type, vocab_type>& ds, ThreadPool& pool, std::ostream& report) const {
    const std::int64_t n = ds.items.size();
    std::vector<std::optional<std::string>> reason(static_cast<std::size_t>(n));
    std::vector<char> used(static_cast<std::size_t>(n), 0);
    for (const auto* part : {&ds.splits.train, &ds.splits.valid})
      for (auto i : *part) used[static_cast<std::size_t>(i)] = 1;
    pool.parallel_for(0, n, 16, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) {
        if (!used[static_cast<std::size_t>(i)]) continue;
        try {
          (void)x_block_.create(ds.items[i]);
        } catch (const std::exception& ex) {
          reason[static_cast<std::size_t>(i)] = ex.what();
        }
      }
    });
    auto keep = [&](std::vector<std::int64_t>& idxs) {
      std::vector<std::int64_t> kept;
      for (auto i : idxs)
        if (!reason[static_cast<std::size_t>(i)]) kept.push_back(i);
      idxs = std::move(kept);
    };
    keep(ds.splits.train);
    keep(ds.splits.valid);
    for (std::int64_t i = 0; i < n; ++i)
      if (reason[static_cast<std::size_t>(i)])
        ds.bad_items.push_back(BadItem{std::filesystem::path(detail::item_string(ds.items[i])), *reason[static_cast<std::size_t>(i)]});
    if (!ds.bad_items.empty()) {
      report << "dataloaders: skipped " << ds.bad_items.size() << " of " << n << " files that could not be loaded:\n";
      for (const auto& b : ds.bad_items) report << "  " << b << '\n';
    }
    check(!ds.splits.train.empty(), "dataloaders: every training file was bad (", ds.bad_items.size(), " skipped)");
  }

  XBlock x_block_;
  YBlock y_block_;
  GetItems get_items_;
  Splitter splitter_;
  GetY get_y_;
  std::vector<PipelineStep<x_type, ItemContext>> item_steps_;
  std::vector<PipelineStep<x_batch, BatchContext>> batch_steps_;
};

template <class XBlock, class YBlock, class GetItems, class Splitter, class GetY, class... Tfms>
DataBlock(Blocks<XBlock, YBlock>, GetItems, Splitter, GetY, Tfms...) -> DataBlock<XBlock, YBlock, GetItems, Splitter, GetY>;

}  // namespace fastpp

