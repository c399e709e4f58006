#pragma once
// The batch augmentation's per-pixel math, shared by the cpu backend (backend/cpu/detail/resample_grid.hpp,
// pixel_maps.hpp) and the CUDA kernel (src/cuda/augment.cu), so the cpu tests run the formulas the GPU
// uses: a sampling map applied to an output pixel, grid_sample's padding and sampling in pixel coordinates
// (align_corners=True), the lighting map in logit space, and the whole fused pixel (sample, lighting,
// Normalize's per-channel affine). Only <cmath>, <cstdint> and core/host_device.hpp are included: nvcc
// compiles it for the device.
#include <cmath>
#include <cstdint>

#include "../core/host_device.hpp"

namespace fastpp::backend {

// What lies outside the image: fastai's PadMode (zeros, border = repeat the edge, reflection = mirror).
enum class PadMode { zeros, border, reflection };

// Interpolation of the batch augmentation's single resample (grid_sample's mode).
enum class SampleMode { bilinear, nearest };

// One image's complete sampling map, in pixels: output (column, row) -> input (x, y). `warped` is the
// projective map (crop, affine and warp composed); `unwarped` the same without the warp, used where the
// warp's homogeneous coordinate is exactly 0 (fastai then skips the warp).
struct CoordMap {
  float warped[9];
  float unwarped[6];
};

// a * b and a + b rounded each, never fused into one fma: nvcc contracts a * b + c by default, and the map's
// coordinates decide which pixel a nearest sample reads, so the device computes the formula as written.
// (The host build contracts or not as its flags say; a contraction moves a coordinate by an ulp, which
// changes a nearest sample only at an exact tie between two pixels.)
FASTPP_HD_INLINE float map_mul(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
FASTPP_HD_INLINE float map_add(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

FASTPP_HD_INLINE void coord_map_apply(const CoordMap& m, float col, float row, float& x, float& y) {
  const float* p = m.warped;
  const float W = map_add(map_add(map_mul(p[6], col), map_mul(p[7], row)), p[8]);
  if (W != 0.0f) {
    const float inv = 1.0f / W;
    x = map_mul(map_add(map_add(map_mul(p[0], col), map_mul(p[1], row)), p[2]), inv);
    y = map_mul(map_add(map_add(map_mul(p[3], col), map_mul(p[4], row)), p[5]), inv);
  } else {
    const float* a = m.unwarped;
    x = map_add(map_add(map_mul(a[0], col), map_mul(a[1], row)), a[2]);
    y = map_add(map_add(map_mul(a[3], col), map_mul(a[4], row)), a[5]);
  }
}

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

// A stored pixel value as a float in [0, 1]: float pixels as they are, uint8 pixels divided by 255 (the
// division of IntToFloat, so the values are bit-equal to a batch converted first).
FASTPP_HD_INLINE float unit_pixel(float v) { return v; }
FASTPP_HD_INLINE float unit_pixel(std::uint8_t v) { return static_cast<float>(v) / 255.0f; }

// Samples channel-interleaved pixels (HWC, C channels, float or uint8 read through unit_pixel) at (x, y),
// as grid_sample does: corners outside the image contribute 0 (so PadMode::zeros fades to black; the other
// modes move (x, y) inside first). A NaN or infinite coordinate gives 0.
template <int C, class T>
FASTPP_HD_INLINE void sample_hwc(const T* img, int h, int w, float x, float y, PadMode pad, SampleMode mode,
                                 float* out) {
  for (int c = 0; c < C; ++c) out[c] = 0.0f;
  if (!(std::fabs(x) < 1e30f) || !(std::fabs(y) < 1e30f)) return;
  x = pad_coordinate(x, w, pad);
  y = pad_coordinate(y, h, pad);
  if (mode == SampleMode::nearest) {
    const float rx = std::nearbyint(x), ry = std::nearbyint(y);
    if (rx < 0 || ry < 0 || rx > static_cast<float>(w - 1) || ry > static_cast<float>(h - 1)) return;
    const T* p = img + (static_cast<long long>(ry) * w + static_cast<long long>(rx)) * C;
    for (int c = 0; c < C; ++c) out[c] = unit_pixel(p[c]);
    return;
  }
  const float fx = std::floor(x), fy = std::floor(y);
  const float tx = x - fx, ty = y - fy;
  const long long x0 = static_cast<long long>(fx), y0 = static_cast<long long>(fy);
  const float wts[4] = {(1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty};
  if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {  // all four corners inside: no bounds tests
    const T* p = img + (y0 * w + x0) * C;
    const T* q = p + static_cast<long long>(w) * C;
    for (int c = 0; c < C; ++c)
      out[c] = wts[0] * unit_pixel(p[c]) + wts[1] * unit_pixel(p[C + c]) + wts[2] * unit_pixel(q[c]) +
               wts[3] * unit_pixel(q[C + c]);
    return;
  }
  const long long xs[4] = {x0, x0 + 1, x0, x0 + 1};
  const long long ys[4] = {y0, y0, y0 + 1, y0 + 1};
  for (int k = 0; k < 4; ++k) {
    if (xs[k] < 0 || ys[k] < 0 || xs[k] >= w || ys[k] >= h) continue;
    const T* p = img + (ys[k] * w + xs[k]) * C;
    for (int c = 0; c < C; ++c) out[c] += wts[k] * unit_pixel(p[c]);
  }
}

// ---- lighting in logit space (fastai's Brightness and Contrast, composed) ------------------------------
FASTPP_HD_INLINE float logit_clamped(float x) {
  x = std::fmin(std::fmax(x, 1e-7f), 1.0f - 1e-7f);
  return -std::log(1.0f / x - 1.0f);
}
FASTPP_HD_INLINE float lighting_sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// x <- sigmoid((logit(x) + logit(brightness)) * contrast): brightness first, then contrast, one sigmoid.
// `brightness_logit` is logit(b) for the drawn b (0 when b = 0.5, the neutral value).
FASTPP_HD_INLINE float lighting_pixel(float x, float brightness_logit, float contrast) {
  return lighting_sigmoid((logit_clamped(x) + brightness_logit) * contrast);
}

// One image's lighting as the pixels take it: logit(brightness) and the contrast, in float.
struct ImageLighting {
  float brightness_logit = 0.0f, contrast = 1.0f;
};

// Normalize's map of one channel: x * scale + shift (scale = 1 / std, shift = -mean / std).
FASTPP_HD_INLINE float channel_affine(float x, float scale, float shift) { return x * scale + shift; }

// The batch augmentation's whole output pixel (col, row) of one RGB image: the sample through its map, then
// the lighting (when `lighting` is not null), then Normalize's affine (when `scale` is not null), as the
// cpu's three passes (AffineCoordTfm, LightingTfm, Normalize) compute it one after the other.
template <class T>
FASTPP_HD_INLINE void augment_pixel_rgb(const T* img, int in_h, int in_w, const CoordMap& map, float col, float row,
                                        PadMode pad, SampleMode mode, const ImageLighting* lighting,
                                        const float* scale, const float* shift, float* out) {
  float x = 0, y = 0;
  coord_map_apply(map, col, row, x, y);
  sample_hwc<3>(img, in_h, in_w, x, y, pad, mode, out);
  if (lighting != nullptr)
    for (int c = 0; c < 3; ++c) out[c] = lighting_pixel(out[c], lighting->brightness_logit, lighting->contrast);
  if (scale != nullptr)
    for (int c = 0; c < 3; ++c) out[c] = channel_affine(out[c], scale[c], shift[c]);
}

}  // namespace fastpp::backend
