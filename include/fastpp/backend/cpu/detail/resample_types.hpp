#pragma once
// The value types the image samplers take: how to read outside the image, how to interpolate, a box of
// pixels and a sampling map. vision/ names them fastpp::PadMode, fastpp::SampleMode and fastpp::CoordMap.
// Internal to the cpu backend: include fastpp/backend/cpu/image_kernels.hpp instead.
#include <cstdint>

#include "../../../core/host_device.hpp"

namespace fastpp::backend {

// What lies outside the image: fastai's PadMode (zeros, border = repeat the edge, reflection = mirror).
enum class PadMode { zeros, border, reflection };

// Interpolation of the batch augmentation's single resample (grid_sample's mode).
enum class SampleMode { bilinear, nearest };

// A rectangle of an image in pixels; it may reach outside the image (then it is padded).
struct PixelBox {
  std::int64_t left = 0, top = 0, width = 0, height = 0;
};

// One image's complete sampling map, in pixels: output (column, row) -> input (x, y). `warped` is the
// projective map (crop, affine and warp composed); `unwarped` the same without the warp, used where the
// warp's homogeneous coordinate is exactly 0 (fastai then skips the warp).
struct CoordMap {
  float warped[9];
  float unwarped[6];
};

FASTPP_HD_INLINE void coord_map_apply(const CoordMap& m, float col, float row, float& x, float& y) {
  const float* p = m.warped;
  const float W = p[6] * col + p[7] * row + p[8];
  if (W != 0.0f) {
    const float inv = 1.0f / W;
    x = (p[0] * col + p[1] * row + p[2]) * inv;
    y = (p[3] * col + p[4] * row + p[5]) * inv;
  } else {
    const float* a = m.unwarped;
    x = a[0] * col + a[1] * row + a[2];
    y = a[3] * col + a[4] * row + a[5];
  }
}

}  // namespace fastpp::backend
