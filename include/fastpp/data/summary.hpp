#pragma once
// DataBlock::summary: fastai's step-by-step trace of the pipeline on one item and one small batch.
// Included at the end of datablock.hpp; the steps mirror dataloaders() (same item and batch contexts as
// a loader with seed 0 in its first epoch), so what summary shows is what the loader makes.
#include <algorithm>
#include <exception>
#include <ostream>
#include <string>
#include <vector>

#include "datablock.hpp"

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

}  // namespace detail

template <class XBlock, class YBlock, class GetItems, class Splitter, class GetY>
template <class Source>
void DataBlock<XBlock, YBlock, GetItems, Splitter, GetY>::summary(const Source& source, std::ostream& os,
                                                                   std::int64_t bs) const {
  check(bs >= 1, "summary: bs must be at least 1, got ", bs);
  const std::string get_y_name = step_name(get_y_, "get_y");
  const std::string x_name = step_name(x_block_, "load");
  os << "Setting-up type transforms pipelines\n";
  os << "Collecting items from " << detail::source_repr(source) << '\n';
  decltype(collect(source)) ds;
  try {
    ds = collect(source);
  } catch (const std::exception& e) {
    detail::summary_failure(os, "  ", step_name(get_items_, "get_items"), detail::source_repr(source), e);
    throw;
  }
  os << "Found " << ds.items.size() << " items\n";
  try {
    ds.splits = split(ds.items);
  } catch (const std::exception& e) {
    detail::summary_failure(os, "  ", step_name(splitter_, "splitter"), ds.items.str(), e);
    throw;
  }
  os << "2 datasets of sizes " << ds.splits.train.size() << ',' << ds.splits.valid.size() << '\n';
  os << "Setting up Pipeline: " << x_name << '\n';
  os << "Setting up Pipeline: " << get_y_name << " -> " << y_block_.name() << '\n';
  // The vocabulary needs every training label: a labeller failing on any item shows here.
  ds.labels.assign(static_cast<std::size_t>(ds.items.size()), std::string());
  for (const auto* part : {&ds.splits.train, &ds.splits.valid})
    for (auto i : *part) {
      try {
        ds.labels[static_cast<std::size_t>(i)] = std::string(get_y_(ds.items[i]));
      } catch (const std::exception& e) {
        detail::summary_failure(os, "    ", get_y_name, short_repr(std::filesystem::path(ds.items[i])), e);
        throw;
      }
    }
  try {
    label_all(ds);
  } catch (const std::exception& e) {
    detail::summary_failure(os, "    ", y_block_.name(), detail::msg("the labels of ", ds.items.size(), " items"), e);
    throw;
  }
  os << "Vocabulary (" << ds.vocab.size() << " classes): " << ds.vocab.vocab() << '\n';

  // ---- one sample ----
  const auto first = ds.splits.train[0];
  const std::filesystem::path first_path(ds.items[first]);
  os << "\nBuilding one sample\n";
  os << "  Pipeline: " << x_name << "\n    starting from\n      " << short_repr(first_path) << '\n';
  Image x;
  try {
    x = x_block_.create(first_path);
  } catch (const std::exception& e) {
    detail::summary_failure(os, "    ", x_name, short_repr(first_path), e);
    throw;
  }
  os << "    applying " << x_name << " gives\n      " << short_repr(x) << '\n';
  const std::string label = ds.labels[static_cast<std::size_t>(first)];
  const Category y = ds.vocab.encode(label, item_name(ds.items[first]));
  os << "  Pipeline: " << get_y_name << " -> " << y_block_.name() << "\n    starting from\n      "
     << short_repr(first_path) << '\n';
  os << "    applying " << get_y_name << " gives\n      " << label << '\n';
  os << "    applying " << y_block_.name() << " gives\n      " << short_repr(y) << '\n';
  os << "\nFinal sample: (" << short_repr(x) << ", " << short_repr(y) << ")\n\n";

  // ---- one batch, made as a train loader with seed 0 makes its first epoch's batch ----
  detail::LoaderData ld;
  ld.load = [xb = x_block_](const std::filesystem::path& p) { return xb.create(p); };
  ld.load_name = x_name;
  ld.item_steps = item_steps_;
  ld.batch_steps = batch_steps_;
  ld.split = Split::train;
  ld.bs = bs;
  const std::int64_t n = std::min<std::int64_t>(bs, static_cast<std::int64_t>(ds.splits.train.size()));
  for (std::int64_t k = 0; k < n; ++k) {
    const auto i = ds.splits.train[static_cast<std::size_t>(k)];
    ld.items.push_back(std::filesystem::path(ds.items[i]));
    ld.targets.push_back(ds.vocab.encode(ds.labels[static_cast<std::size_t>(i)]).index);
  }
  os << "Setting up after_item: Pipeline: " << pipeline_repr(item_steps_) << '\n';
  os << "Setting up before_batch: Pipeline: \n";
  os << "Setting up after_batch: Pipeline: " << IntToFloat{}.name()
     << (batch_steps_.empty() ? std::string() : detail::msg(" -> ", pipeline_repr(batch_steps_))) << '\n';

  os << "\nBuilding one batch\n";
  std::vector<Image> images;
  std::vector<std::filesystem::path> names;
  for (std::int64_t k = 0; k < n; ++k) {
    const bool trace = k == 0 && !item_steps_.empty();
    if (trace) os << "Applying item_tfms to the first sample:\n  Pipeline: " << pipeline_repr(item_steps_) << '\n';
    Image img;
    try {
      img = ld.load(ld.items[static_cast<std::size_t>(k)]);
    } catch (const std::exception& e) {
      detail::summary_failure(os, "    ", x_name, short_repr(ld.items[static_cast<std::size_t>(k)]), e);
      throw;
    }
    const Category yk = ds.vocab.decode(ld.targets[static_cast<std::size_t>(k)]);
    if (trace) os << "    starting from\n      (" << short_repr(img) << ", " << short_repr(yk) << ")\n";
    ItemContext ctx = ld.item_context(k, 0);
    for (const auto& s : item_steps_) {
      const std::string input = detail::msg("(", short_repr(img), ", ", short_repr(yk), ") from ",
                                            short_repr(ld.items[static_cast<std::size_t>(k)]));
      try {
        img = s.fn(std::move(img), ctx);
      } catch (const std::exception& e) {
        detail::summary_failure(os, "    ", s.name, input, e);
        throw;
      }
      if (trace) os << "    applying " << s.name << " gives\n      (" << short_repr(img) << ", " << short_repr(yk) << ")\n";
    }
    images.push_back(std::move(img));
    names.push_back(ld.items[static_cast<std::size_t>(k)]);
  }
  if (item_steps_.empty()) os << "No item_tfms to apply\n";
  if (n > 1) os << "\nAdding the next " << n - 1 << " samples\n";
  os << "\nNo before_batch transform to apply\n";
  os << "\nCollating items in a batch\n";
  Tensor<std::uint8_t, cpu> collated;
  try {
    collated = collate_images(images, names);
  } catch (const std::exception& e) {
    os << "Error! It's not possible to collate your items in a batch\n";
    std::string shapes;
    for (const auto& im : images) shapes += (shapes.empty() ? "" : ",") + short_repr(im);
    detail::summary_failure(os, "  ", "collate", shapes, e);
    throw;
  }
  auto yb = Tensor<std::int64_t, cpu>::from({n}, ld.targets);
  os << "\nApplying batch_tfms to the batch built\n  Pipeline: " << IntToFloat{}.name()
     << (batch_steps_.empty() ? std::string() : detail::msg(" -> ", pipeline_repr(batch_steps_))) << '\n';
  os << "    starting from\n      (" << short_repr(collated) << ", " << short_repr(yb) << ")\n";
  Tensor<float, cpu> xb = IntToFloat{}(collated);
  os << "    applying " << IntToFloat{}.name() << " gives\n      (" << short_repr(xb) << ", " << short_repr(yb) << ")\n";
  BatchContext bctx = ld.batch_context(0, 0);
  for (const auto& s : batch_steps_) {
    const std::string input = detail::msg("(", short_repr(xb), ", ", short_repr(yb), ")");
    try {
      xb = s.fn(std::move(xb), bctx);
    } catch (const std::exception& e) {
      detail::summary_failure(os, "    ", s.name, input, e);
      throw;
    }
    os << "    applying " << s.name << " gives\n      (" << short_repr(xb) << ", " << short_repr(yb) << ")\n";
  }
  os.flush();
}

}  // namespace fastpp
