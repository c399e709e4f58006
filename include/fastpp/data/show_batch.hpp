#pragma once
// show_batch for DataLoaders, as fastai's dls.show_batch(): one training batch, decoded back to pixels
// (Normalize undone), captioned with its labels (several labels joined with ';'), written as an SVG grid
// (vision/show_batch.hpp).
#include <algorithm>
#include <filesystem>
#include <type_traits>

#include "../vision/show_batch.hpp"
#include "dataloader.hpp"

namespace fastpp {

template <class Item, class XBlock, class YBlock>
void show_batch(const DataLoadersOf<Item, XBlock, YBlock>& dls, const std::filesystem::path& path,
                const ShowBatchOptions& o = {}) {
  static_assert(std::is_same_v<input_batch_t<XBlock>, Tensor<float, cpu>>,
                "show_batch(dls, path) shows image batches (NHWC Tensor<float>): the input block must be an ImageBlock "
                "or another block whose batches are images");
  const auto b = dls.one_batch();
  const std::int64_t n = std::min<std::int64_t>(b.x.size(0), o.max_n);
  auto captions = dls.labels(b);
  captions.resize(static_cast<std::size_t>(n));
  show_batch(dls.train.decode(b.x).slice(0, n), captions, path, o);
}

}  // namespace fastpp
