#pragma once
// The contract between the transforms (here in vision/) and the pipeline that runs them (data/: DataBlock,
// DataLoaders). It lives in vision/ because data/ sits above vision/ (data may include vision, never the
// reverse: docs/ARCHITECTURE.md), and the transforms must compile without the pipeline.
//
// Items are decoded images: Tensor<uint8_t> of shape [H, W, 3] (HWC, RGB). Batches are NHWC:
// Tensor<float> [N, H, W, 3] (docs/ARCHITECTURE.md says why NHWC).
//
//   item transform:  Image operator()(Image in, ItemContext& ctx) const
//                    runs per item on a loader thread; draws its randomness from ctx.rng only.
//   batch transform: Tensor<float> operator()(Tensor<float> batch, BatchContext& ctx) const
//                    runs per batch; batch is NHWC float in [0, 1] after IntToFloat; draws from ctx.rng
//                    (or ctx.item_rng(i) for per-image draws) only.
// Each transform also says, with `static constexpr int order`, where it runs (fastai's order: Resize 1,
// IntToFloat 10, affine/crop 30, lighting 40, Normalize 99), and with `std::string name() const` how
// summary() shows it. A transform whose call does not fit one of these shapes is rejected at compile time
// by the concepts below.
#include <concepts>
#include <cstdint>
#include <string>

#include "../core/rng.hpp"
#include "../core/tensor.hpp"

namespace fastpp {

using Image = Tensor<std::uint8_t, cpu>;  // [H, W, 3], RGB

enum class Split { train = 0, valid = 1 };

// Randomness and split for one item. rng is a stream of its own (seed, epoch, item index), so a
// transform draws the same numbers whatever thread runs it.
struct ItemContext {
  Split split = Split::train;
  Rng rng;
  std::int64_t item_index = 0;
};

// Randomness and split for one batch.
struct BatchContext {
  Split split = Split::train;
  Rng rng;                    // batch-wide draws
  std::uint64_t seed = 0;     // loader seed
  std::uint64_t epoch = 0;
  std::int64_t batch_index = 0;
  // A stream for image i of this batch, independent of every other image's.
  Rng item_rng(std::int64_t i) const {
    return Rng(seed ^ 0x9E3779B97F4A7C15ull, (epoch << 40) ^ (static_cast<std::uint64_t>(batch_index) << 16) ^
                                                 static_cast<std::uint64_t>(i));
  }
};

// The smallest decoded image (height x width) an item transform needs to make its output at full quality.
// An item transform that runs first and has `MinDecodeSize min_decode_size() const` (Resize has) lets a
// DataBlock tell the decoder: a JPEG is then decoded at 1/2, 1/4 or 1/8 scale (libjpeg-turbo's DCT
// scaling) when that still gives at least this size (DecodeOptions::min_size, vision/image.hpp), so a
// 12-megapixel photo is never decoded whole to make a 460-pixel image. {0, 0}: the full size.
struct MinDecodeSize {
  std::int64_t height = 0, width = 0;
  constexpr bool empty() const { return height <= 0 && width <= 0; }
  bool operator==(const MinDecodeSize&) const = default;
};

template <class T>
concept ItemTransform = requires(const T& t, Image img, ItemContext& ctx) {
  { t(std::move(img), ctx) } -> std::same_as<Image>;
  { T::order } -> std::convertible_to<int>;
  { t.name() } -> std::convertible_to<std::string>;
};

template <class T>
concept BatchTransform = requires(const T& t, Tensor<float, cpu> b, BatchContext& ctx) {
  { t(std::move(b), ctx) } -> std::same_as<Tensor<float, cpu>>;
  { T::order } -> std::convertible_to<int>;
  { t.name() } -> std::convertible_to<std::string>;
};

}  // namespace fastpp
