#pragma once
// The batch pipeline's per-value loops over pixels: uint8 <-> float in [0, 1], the per-channel affine
// map of Normalize, and the lighting map of LightingTfm in logit space (its per-value math, lighting_pixel,
// is FASTPP_HD in backend/image_pixel.hpp, shared with the CUDA kernel). Each runs over one contiguous
// span; the caller splits the work over threads.
// Internal to the cpu backend: include fastpp/backend/cpu/image_kernels.hpp instead.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../../image_pixel.hpp"
#include "exp.hpp"
#include "image_isa.hpp"

namespace fastpp::backend {

namespace cpu_detail {

// 8 floats as a GCC/Clang vector: SSE pairs in a baseline build, one AVX2 register in the AVX2 one.
typedef float px8f __attribute__((vector_size(32)));
typedef std::int32_t px8i __attribute__((vector_size(32)));

// out = mask ? a : b per lane. Vectors go by reference, never by value or as a return value: a 32-byte
// vector crossing a function boundary in a build without AVX is an ABI change (GCC's -Wpsabi, an error under
// -Werror), as in exp.hpp.
[[gnu::always_inline]] inline void px_select(px8f& out, const px8i& mask, const px8f& a, const px8f& b) {
  out = __builtin_bit_cast(px8f, (mask & __builtin_bit_cast(px8i, a)) | (~mask & __builtin_bit_cast(px8i, b)));
}

// log(x) for positive normal x, Cephes' logf: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(m) by a
// degree-9 polynomial in m - 1, e ln2 added in two parts. Within 2 ulp of std::log on (1e-7, 1e7), the range
// lighting takes it over (tested against std::log).
[[gnu::always_inline]] inline void log_pos(px8f& x) {
  const px8i bits = __builtin_bit_cast(px8i, x);
  px8i e = ((bits >> 23) & 0xff) - 126;
  const px8f m = __builtin_bit_cast(px8f, (bits & 0x007fffff) | 0x3f000000);  // in [0.5, 1)
  const px8i small = m < 0.707106781186547524f;                                 // -1 where m < sqrt(1/2)
  e += small;
  const px8f f = m - 1.0f + __builtin_bit_cast(px8f, small & __builtin_bit_cast(px8i, m));  // 2m - 1 or m - 1
  const px8f z = f * f;
  px8f y = 7.0376836292e-2f * f - 1.1514610310e-1f;
  y = y * f + 1.1676998740e-1f;
  y = y * f - 1.2420140846e-1f;
  y = y * f + 1.4249322787e-1f;
  y = y * f - 1.6668057665e-1f;
  y = y * f + 2.0000714765e-1f;
  y = y * f - 2.4999993993e-1f;
  y = y * f + 3.3333331174e-1f;
  y = y * f * z;
  const px8f ef = __builtin_convertvector(e, px8f);
  y += -2.12194440e-4f * ef - 0.5f * z;
  x = f + y + 0.693359375f * ef;
}

// lighting_pixel on 8 values: sigmoid((bl - log((1 - x) / x)) * c), the exp taken of -|z| only (exp.hpp's
// exp_nonpos) and the sigmoid's symmetry giving the other half. Within 1e-6 of lighting_pixel (tested).
[[gnu::always_inline]] inline void lighting_8(const float* src, float* dst, float bl, float c) {
  px8f x;
  std::memcpy(&x, src, sizeof x);
  const px8f lo = px8f{} + 1e-7f, hi = px8f{} + (1.0f - 1e-7f);
  px_select(x, x > lo, x, lo);  // NaN -> 1e-7, as fmax in logit_clamped
  px_select(x, x < hi, x, hi);
  px8f t = (1.0f - x) / x;
  log_pos(t);
  const px8f z = (bl - t) * c;
  const px8i neg = z < 0.0f;
  px8f e;
  px_select(e, neg, z, -z);  // -|z|
  exp_nonpos(e);
  px8f num;
  px_select(num, neg, e, px8f{} + 1.0f);
  const px8f s = num / (1.0f + e);
  std::memcpy(dst, &s, sizeof s);
}

[[gnu::always_inline]] inline void lighting_span_v(const float* src, float* dst, std::int64_t n, float bl, float c) {
  std::int64_t k = 0;
  for (; k + 8 <= n; k += 8) lighting_8(src + k, dst + k, bl, c);
  if (k < n) {  // the tail through a padded copy
    float in[8] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f}, out[8];
    std::memcpy(in, src + k, static_cast<std::size_t>(n - k) * sizeof(float));
    lighting_8(in, out, bl, c);
    std::memcpy(dst + k, out, static_cast<std::size_t>(n - k) * sizeof(float));
  }
}
inline void lighting_span_portable(const float* src, float* dst, std::int64_t n, float bl, float c) {
  lighting_span_v(src, dst, n, bl, c);
}
#if defined(FASTPP_IMAGE_AVX2)
FASTPP_IMAGE_AVX2_FN inline void lighting_span_avx2(const float* src, float* dst, std::int64_t n, float bl, float c) {
  lighting_span_v(src, dst, n, bl, c);
}
#endif

// LightingTfm's loop (lighting_pixel per value, vectorised: 20x faster than calling std::log and std::exp).
inline void lighting_span(const float* src, float* dst, std::int64_t n, float brightness_logit, float contrast) {
#if defined(FASTPP_IMAGE_AVX2)
  if (image_use_avx2()) return lighting_span_avx2(src, dst, n, brightness_logit, contrast);
#endif
  lighting_span_portable(src, dst, n, brightness_logit, contrast);
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
