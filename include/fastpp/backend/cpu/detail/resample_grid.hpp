#pragma once
// grid_sample's padding and sampling in pixel coordinates (align_corners=True), and the loop of the batch
// augmentation's single resample: every output pixel read through a CoordMap. The per-pixel functions are
// FASTPP_HD, so a CUDA kernel can share them.
// Internal to the cpu backend: include fastpp/backend/cpu/image_kernels.hpp instead.
#include <cmath>
#include <cstdint>

#include "../../../core/host_device.hpp"
#include "resample_types.hpp"

namespace fastpp::backend {

// Reflects x into [0, n-1] as PyTorch's reflect_coordinates, then clips (a far-away x stays finite).
FASTPP_HD_INLINE float reflect_coordinate(float x, int n) {
  if (n <= 1) return 0.0f;
  const float span = static_cast<float>(n - 1);
  if (x >= 0.0f && x <= span) return x;  // inside: the common case, and what the formula below gives too
  x = std::fabs(x);
  const float extra = std::fmod(x, span);
  const int flips = static_cast<int>(std::floor(x / span));
  x = (flips % 2 == 0) ? extra : span - extra;
  return std::fmin(std::fmax(x, 0.0f), span);
}
FASTPP_HD_INLINE float clip_coordinate(float x, int n) {
  return std::fmin(std::fmax(x, 0.0f), static_cast<float>(n - 1));
}

FASTPP_HD_INLINE float pad_coordinate(float x, int n, PadMode pad) {
  if (pad == PadMode::reflection) return reflect_coordinate(x, n);
  if (pad == PadMode::border) return clip_coordinate(x, n);
  return x;
}

// Samples channel-interleaved float pixels (HWC, C channels) at (x, y), as grid_sample does: corners
// outside the image contribute 0 (so PadMode::zeros fades to black; the other modes move (x, y) inside first).
// A NaN or infinite coordinate gives 0.
template <int C>
FASTPP_HD_INLINE void sample_hwc(const float* img, int h, int w, float x, float y, PadMode pad, SampleMode mode,
                                 float* out) {
  for (int c = 0; c < C; ++c) out[c] = 0.0f;
  if (!(std::fabs(x) < 1e30f) || !(std::fabs(y) < 1e30f)) return;
  x = pad_coordinate(x, w, pad);
  y = pad_coordinate(y, h, pad);
  if (mode == SampleMode::nearest) {
    const float rx = std::nearbyint(x), ry = std::nearbyint(y);
    if (rx < 0 || ry < 0 || rx > static_cast<float>(w - 1) || ry > static_cast<float>(h - 1)) return;
    const float* p = img + (static_cast<long long>(ry) * w + static_cast<long long>(rx)) * C;
    for (int c = 0; c < C; ++c) out[c] = p[c];
    return;
  }
  const float fx = std::floor(x), fy = std::floor(y);
  const float tx = x - fx, ty = y - fy;
  const long long x0 = static_cast<long long>(fx), y0 = static_cast<long long>(fy);
  const float wts[4] = {(1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty};
  if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {  // all four corners inside: no bounds tests
    const float* p = img + (y0 * w + x0) * C;
    const float* q = p + static_cast<long long>(w) * C;
    for (int c = 0; c < C; ++c) out[c] = wts[0] * p[c] + wts[1] * p[C + c] + wts[2] * q[c] + wts[3] * q[C + c];
    return;
  }
  const long long xs[4] = {x0, x0 + 1, x0, x0 + 1};
  const long long ys[4] = {y0, y0, y0 + 1, y0 + 1};
  for (int k = 0; k < 4; ++k) {
    if (xs[k] < 0 || ys[k] < 0 || xs[k] >= w || ys[k] >= h) continue;
    const float* p = img + (ys[k] * w + xs[k]) * C;
    for (int c = 0; c < C; ++c) out[c] += wts[k] * p[c];
  }
}

namespace cpu_detail {

// Resamples one HWC float RGB image through `map` (rows [row_begin, row_end) of the output).
inline void grid_sample_rows_rgb(const float* in, int in_h, int in_w, float* out, int out_w, const CoordMap& map,
                                 SampleMode mode, PadMode pad, std::int64_t row_begin, std::int64_t row_end) {
  for (std::int64_t r = row_begin; r < row_end; ++r) {
    float* dst = out + r * out_w * 3;
    for (int c = 0; c < out_w; ++c) {
      float x = 0, y = 0;
      coord_map_apply(map, static_cast<float>(c), static_cast<float>(r), x, y);
      sample_hwc<3>(in, in_h, in_w, x, y, pad, mode, dst + c * 3);
    }
  }
}

}  // namespace cpu_detail
}  // namespace fastpp::backend
