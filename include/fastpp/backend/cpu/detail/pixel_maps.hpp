#pragma once
// The batch pipeline's per-value loops over pixels: uint8 <-> float in [0, 1], the per-channel affine
// map of Normalize, and the lighting map of LightingTfm in logit space (its per-value math FASTPP_HD, so a
// CUDA kernel can share it). Each runs over one contiguous span; the caller splits the work over threads.
// Internal to the cpu backend: include fastpp/backend/cpu/image_kernels.hpp instead.
#include <cmath>
#include <cstdint>

#include "../../../core/host_device.hpp"

namespace fastpp::backend {

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

namespace cpu_detail {

inline void lighting_span(const float* src, float* dst, std::int64_t n, float brightness_logit, float contrast) {
  for (std::int64_t k = 0; k < n; ++k) dst[k] = lighting_pixel(src[k], brightness_logit, contrast);
}

// pixel / 255: a division, as PyTorch's IntToFloatTensor, so the floats are bit-equal to fastai's.
inline void u8_to_unit_float_span(const std::uint8_t* src, float* dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]) / 255.0f;
}

// float in [0, 1] -> uint8, clamped (NaN -> 0) and rounded to nearest.
inline void unit_float_to_u8_span(const float* src, std::uint8_t* dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = src[i];
    const float c = v > 1.0f ? 1.0f : (v > 0.0f ? v : 0.0f);
    dst[i] = static_cast<std::uint8_t>(c * 255.0f + 0.5f);
  }
}

// dst = src * scale[c] + shift[c] for each of `pixels` RGB pixels (channels last).
inline void channel_affine_rgb_span(const float* src, float* dst, std::int64_t pixels, const float* scale,
                                    const float* shift) {
  for (std::int64_t p = 0; p < pixels; ++p)
    for (int c = 0; c < 3; ++c) dst[p * 3 + c] = src[p * 3 + c] * scale[c] + shift[c];
}

}  // namespace cpu_detail
}  // namespace fastpp::backend
