#pragma once
// One batch's augmentation as parameters: what vision/augment.hpp draws and composes on the host (the
// sampling map of each image, the lighting of each image, Normalize's per-channel affine) before any pixel
// is touched. The cpu's passes (vision/augment.hpp: run_augment) and the CUDA kernel
// (backend/cuda/image.hpp: augment_batch) both consume it, so both devices apply the same draws.
#include <cstdint>
#include <vector>

#include "image_pixel.hpp"

namespace fastpp::backend {

struct AugmentBatch {
  std::int64_t n = 0, in_h = 0, in_w = 0;  // the input batch [n, in_h, in_w, 3]
  std::int64_t out_h = 0, out_w = 0;       // the output batch [n, out_h, out_w, 3]
  SampleMode mode = SampleMode::bilinear;
  PadMode pad = PadMode::reflection;
  std::vector<CoordMap> maps;            // one per image
  std::vector<ImageLighting> lighting;   // one per image, or empty: no lighting pass
  bool normalize = false;                // Normalize's affine last: x * scale[c] + shift[c]
  float scale[3] = {1, 1, 1}, shift[3] = {0, 0, 0};

  bool has_lighting() const { return !lighting.empty(); }
  // Sizes that agree with each other (the callers check and name what is wrong).
  bool consistent() const {
    return n > 0 && in_h > 0 && in_w > 0 && out_h > 0 && out_w > 0 && maps.size() == static_cast<std::size_t>(n) &&
           (lighting.empty() || lighting.size() == static_cast<std::size_t>(n));
  }
};

}  // namespace fastpp::backend
