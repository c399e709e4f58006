#pragma once
// DataBlock::summary: fastai's step-by-step trace of the pipeline on one item and one small batch.
//
// The batch is built by the loader itself (LoaderData::batch, the code every DataLoader runs) with a trace
// that prints each step as the loader takes it, on the first bs training items, with the item and batch
// contexts of a train loader with seed 0 in its first epoch: what summary shows is what the loader makes.
// datablock.hpp includes this header and befriends print_summary; this header does not include it.
#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <numeric>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "block.hpp"
#include "dataloader.hpp"
#include "labellers.hpp"
#include "pipeline.hpp"
#include "repr.hpp"

namespace fastpp {

namespace detail {

// Prints a failed step in summary()'s format. The caller rethrows.
inline void summary_failure(std::ostream& os, const std::string& indent, const std::string& step,
                            const std::string& input, const std::exception& e) {
  os << indent << "applying " << step << " failed\n"
     << indent << "  on input: " << input << '\n'
     << indent << "  error: " << e.what() << '\n';
  os.flush();
}

// An item as summary() shows it: Path('a/b.png') for a file.
template <class Item>
std::string item_repr(const Item& item) {
  if constexpr (std::is_convertible_v<const Item&, std::filesystem::path>) return short_repr(std::filesystem::path(item));
  else return source_repr(item);
}

// The name of an input block's batch_tfm (IntToFloat for images), or "" when it has none.
template <class XBlock>
std::string batch_tfm_name() {
  if constexpr (requires { typename XBlock::batch_tfm; }) return typename XBlock::batch_tfm{}.name();
  else return "";
}

// "IntToFloat -- {...} -> Flip -> Normalize": the after_batch pipeline, the block's batch_tfm first.
template <class XBlock, class S>
std::string after_batch_repr(const std::vector<S>& steps) {
  const std::string first = batch_tfm_name<XBlock>(), rest = pipeline_repr(steps);
  return first.empty() ? rest : rest.empty() ? first : first + " -> " + rest;
}

// Prints the loader's steps as LoaderData::batch takes them (the trace interface of dataloader.hpp).
template <class Data>
class SummaryTrace {
 public:
  static constexpr bool active = true;
  SummaryTrace(std::ostream& os, const Data& data) : os_(os), data_(data) {}

  template <class X, class Y>
  void loaded(std::int64_t k, std::int64_t, const X& x, const Y& y) {
    if (first_traced(k)) os_ << "    starting from\n      (" << short_repr(x) << ", " << short_repr(y) << ")\n";
  }
  void load_failed(std::int64_t, std::int64_t i, const std::exception& e) {
    summary_failure(os_, "    ", data_.load_name, item_repr(data_.items[static_cast<std::size_t>(i)]), e);
  }
  template <class S, class X, class Y>
  void item_step_done(std::int64_t k, std::int64_t, const S& step, const X& x, const Y& y) {
    if (first_traced(k))
      os_ << "    applying " << step.name << " gives\n      (" << short_repr(x) << ", " << short_repr(y) << ")\n";
  }
  template <class S, class X, class Y>
  void item_step_failed(std::int64_t, std::int64_t i, const S& step, const X& input, const Y& y, const std::exception& e) {
    summary_failure(os_, "    ", step.name,
                    msg("(", short_repr(input), ", ", short_repr(y), ") from ",
                        item_repr(data_.items[static_cast<std::size_t>(i)])),
                    e);
  }
  template <class X>
  void collating(const std::vector<X>& samples) {
    if (data_.item_steps.empty()) os_ << "No item_tfms to apply\n";
    if (samples.size() > 1) os_ << "\nAdding the next " << samples.size() - 1 << " samples\n";
    os_ << "\nNo before_batch transform to apply\n";
    os_ << "\nCollating items in a batch\n";
  }
  template <class X>
  void collate_failed(const std::vector<X>& samples, const std::exception& e) {
    os_ << "Error! It's not possible to collate your items in a batch\n";
    std::string shapes;
    for (const auto& x : samples) {
      if (!shapes.empty()) shapes += ',';
      shapes += short_repr(x);
    }
    summary_failure(os_, "  ", "collate", shapes, e);
  }
  template <class C, class Y>
  void collated(const C& collated, const Y& y) {
    os_ << "\nApplying batch_tfms to the batch built\n  Pipeline: "
        << after_batch_repr<decltype(data_.x_block)>(data_.batch_steps) << '\n';
    os_ << "    starting from\n      (" << short_repr(collated) << ", " << short_repr(y) << ")\n";
  }
  template <class X, class Y>
  void converted(const std::string& name, const X& x, const Y& y) {
    os_ << "    applying " << name << " gives\n      (" << short_repr(x) << ", " << short_repr(y) << ")\n";
  }
  template <class S, class X, class Y>
  void batch_step_done(const S& step, const X& x, const Y& y) {
    os_ << "    applying " << step.name << " gives\n      (" << short_repr(x) << ", " << short_repr(y) << ")\n";
  }
  template <class S, class X, class Y>
  void batch_step_failed(const S& step, const X& input, const Y& y, const std::exception& e) {
    summary_failure(os_, "    ", step.name, msg("(", short_repr(input), ", ", short_repr(y), ")"), e);
  }

 private:
  // Only the first sample's item transforms are shown step by step, as fastai does.
  bool first_traced(std::int64_t k) const { return k == 0 && !data_.item_steps.empty(); }

  std::ostream& os_;
  const Data& data_;
};

// Checks the header of every item in the splits, when the input block can judge its items so
// (ImageBlock::header_problem with fastpp's decoder: std::optional<std::string>, "" for a good header,
// nullopt when it cannot tell), and lists the files that will fail to load and why, before any training
// starts. Reading headers costs little; summary's sample and batch decode only the first items.
template <class XBlock, class DS>
void print_header_check(std::ostream& os, const XBlock& block, const DS& ds) {
  if constexpr (requires {
                  { block.header_problem(ds.items[0]) } -> std::convertible_to<std::optional<std::string>>;
                }) {
    std::vector<std::int64_t> used;
    for (const auto* part : {&ds.splits.train, &ds.splits.valid}) used.insert(used.end(), part->begin(), part->end());
    std::sort(used.begin(), used.end());
    if (used.empty() || !block.header_problem(ds.items[used.front()])) return;  // the block cannot judge
    std::vector<std::string> problem(used.size());
    parallel_for(0, static_cast<std::int64_t>(used.size()), 64, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t k = b; k < e; ++k)
        problem[static_cast<std::size_t>(k)] =
            block.header_problem(ds.items[used[static_cast<std::size_t>(k)]]).value_or(std::string());
    });
    const auto bad = static_cast<std::size_t>(std::count_if(problem.begin(), problem.end(),
                                                            [](const std::string& p) { return !p.empty(); }));
    os << "Checking the headers of " << used.size() << " files\n";
    if (bad == 0) {
      os << "  every header is readable and within the decode limits (damage after a header shows only when "
            "the file is decoded)\n";
      return;
    }
    os << "  " << bad << " of " << used.size() << " files will fail to load:\n";
    for (std::size_t k = 0; k < used.size(); ++k)
      if (!problem[k].empty()) os << "    " << item_repr(ds.items[used[k]]) << ": " << problem[k] << '\n';
    os << "  To train without them: dataloaders(path, {.on_bad_item = BadItems::skip}). For images above the "
          "size limit, raise it instead: Blocks{ImageBlock{.decode = {.limits = {.max_pixels = N, .max_side = S}}}, "
          "...} (DecodeLimits: max_pixels 2^26, max_side 2^15 by default)\n";
  }
}

// DataBlock::summary's body (a friend of DataBlock: it reads the blocks, getters and steps).
template <class DB, class Source>
void print_summary(const DB& db, const Source& source, std::ostream& os, std::int64_t bs) {
  check(bs >= 1, "summary: bs must be at least 1, got ", bs);
  const std::string get_y_name = step_name(db.get_y_, "get_y");
  const std::string x_name = step_name(db.x_block_, "load");
  os << "Setting-up type transforms pipelines\n";
  os << "Collecting items from " << source_repr(source) << '\n';
  decltype(db.collect(source)) ds;
  try {
    ds = db.collect(source);
  } catch (const std::exception& e) {
    summary_failure(os, "  ", step_name(db.get_items_, "get_items"), source_repr(source), e);
    throw;
  }
  os << "Found " << ds.items.size() << " items\n";
  try {
    ds.splits = db.split(ds.items);
  } catch (const std::exception& e) {
    summary_failure(os, "  ", step_name(db.splitter_, "splitter"), ds.items.str(), e);
    throw;
  }
  os << "2 datasets of sizes " << ds.splits.train.size() << ',' << ds.splits.valid.size() << '\n';
  os << "Setting up Pipeline: " << x_name << '\n';
  os << "Setting up Pipeline: " << get_y_name << " -> " << db.y_block_.name() << '\n';
  // The vocabulary needs every training label: a labeller failing on any item shows here.
  for (const auto* part : {&ds.splits.train, &ds.splits.valid})
    for (auto i : *part) {
      try {
        (void)db.get_y_(ds.items[i]);
      } catch (const std::exception& e) {
        summary_failure(os, "    ", get_y_name, item_repr(ds.items[i]), e);
        throw;
      }
    }
  try {
    db.label_all(ds);
  } catch (const std::exception& e) {
    summary_failure(os, "    ", db.y_block_.name(), msg("the labels of ", ds.items.size(), " items"), e);
    throw;
  }
  os << "Vocabulary (" << ds.vocab.size() << " classes): " << ds.vocab.vocab() << '\n';
  print_header_check(os, db.x_block_, ds);

  // ---- one sample ----
  const auto first = ds.splits.train[0];
  const auto& first_item = ds.items[first];
  os << "\nBuilding one sample\n";
  os << "  Pipeline: " << x_name << "\n    starting from\n      " << item_repr(first_item) << '\n';
  auto x = [&] {
    try {
      return db.x_block_.create(first_item);
    } catch (const std::exception& e) {
      summary_failure(os, "    ", x_name, item_repr(first_item), e);
      throw;
    }
  }();
  os << "    applying " << x_name << " gives\n      " << short_repr(x) << '\n';
  const auto& label = ds.labels[static_cast<std::size_t>(first)];
  const auto y = ds.vocab.encode(label, db.item_name(first_item));
  os << "  Pipeline: " << get_y_name << " -> " << db.y_block_.name() << "\n    starting from\n      "
     << item_repr(first_item) << '\n';
  os << "    applying " << get_y_name << " gives\n      " << short_repr(label) << '\n';
  os << "    applying " << db.y_block_.name() << " gives\n      " << short_repr(y) << '\n';
  os << "\nFinal sample: (" << short_repr(x) << ", " << short_repr(y) << ")\n\n";

  // ---- one batch, made by the loader as a train loader with seed 0 makes its first epoch's batch ----
  const std::int64_t n = std::min<std::int64_t>(bs, static_cast<std::int64_t>(ds.splits.train.size()));
  const std::vector<std::int64_t> first_n(ds.splits.train.begin(), ds.splits.train.begin() + n);
  const auto data = db.loader_data(ds, first_n, Split::train, 0, bs);
  os << "Setting up after_item: Pipeline: " << pipeline_repr(data->item_steps) << '\n';
  os << "Setting up before_batch: Pipeline: \n";
  os << "Setting up after_batch: Pipeline: " << after_batch_repr<decltype(data->x_block)>(data->batch_steps) << '\n';
  os << "\nBuilding one batch\n";
  if (!data->item_steps.empty())
    os << "Applying item_tfms to the first sample:\n  Pipeline: " << pipeline_repr(data->item_steps) << '\n';
  std::vector<std::int64_t> positions(static_cast<std::size_t>(n));
  std::iota(positions.begin(), positions.end(), std::int64_t{0});
  SummaryTrace<std::decay_t<decltype(*data)>> trace(os, *data);
  (void)data->batch(positions, 0, 0, trace);
  os.flush();
}

}  // namespace detail

}  // namespace fastpp
