#pragma once
// show_batch for DataLoaders, as fastai's dls.show_batch(): one training batch, decoded back to pixels
// (Normalize undone), captioned with its labels, written as an SVG grid (vision/show_batch.hpp).
#include <algorithm>
#include <filesystem>

#include "../vision/show_batch.hpp"
#include "dataloader.hpp"

namespace fastpp {

inline void show_batch(const DataLoaders& dls, const std::filesystem::path& path, const ShowBatchOptions& o = {}) {
  const Batch b = dls.one_batch();
  const std::int64_t n = std::min<std::int64_t>(b.x.size(0), o.max_n);
  auto captions = dls.labels(b);
  captions.resize(static_cast<std::size_t>(n));
  show_batch(dls.train.decode(b.x).slice(0, n), captions, path, o);
}

}  // namespace fastpp
