#pragma once
// PIL's bilinear resize (ImagingResample) of a uint8 RGB image, with the crop and the padding folded into
// the filter taps: each tap points straight at a source pixel (or at a zero for PadMode::zeros), so
// neither is materialised.
//
// PIL's BILINEAR is a triangle filter whose support widens with the shrink factor, so downscaling is
// antialiased (every source pixel contributes), unlike grid_sample's bilinear. The algorithm is PIL's:
// precomputed weights per output column/row, 22-bit fixed point, horizontal pass rounded to uint8, then
// the vertical pass; so the pixels are PIL's exactly.
// Internal to the cpu backend: include fastpp/backend/cpu/image_kernels.hpp instead.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "image_isa.hpp"
#include "resample_types.hpp"

namespace fastpp::backend::cpu_detail {

// Filter taps of one axis: output o reads source pixels src[o*n + k] (or zero where src is -1) with
// fixed-point weights w[o*n + k], k < n.
struct AxisTaps {
  std::int64_t n = 0;
  std::vector<std::int64_t> src;
  std::vector<std::int32_t> w;
};

constexpr int kResamplePrecisionBits = 32 - 8 - 2;  // PIL's PRECISION_BITS

// Where position v of the crop box [start, start + len) of an axis of `size` pixels reads from, as fastai's
// crop-then-pad does it: the box is first cut to the image, and what lies outside is padded from that cut.
inline std::int64_t padded_source_index(std::int64_t v, std::int64_t start, std::int64_t len, std::int64_t size,
                                        PadMode pad) {
  const std::int64_t c0 = std::max<std::int64_t>(start, 0), c1 = std::min<std::int64_t>(start + len, size);
  const std::int64_t s = start + v;
  if (s >= c0 && s < c1) return s;
  if (pad == PadMode::zeros || c1 <= c0) return pad == PadMode::zeros ? -1 : std::clamp<std::int64_t>(s, 0, size - 1);
  const std::int64_t n = c1 - c0;
  std::int64_t local = s - c0;
  if (pad == PadMode::border) return c0 + std::clamp<std::int64_t>(local, 0, n - 1);
  if (n == 1) return c0;
  const std::int64_t period = 2 * (n - 1);  // numpy's "reflect": mirror about the edge pixel, no repeat
  local = ((local % period) + period) % period;
  if (local >= n) local = period - local;
  return c0 + local;
}

// PIL's precompute_coeffs for the bilinear (triangle) filter, over the box [start, start + len) of an axis of
// `size` source pixels, resampled to `out` pixels.
inline AxisTaps bilinear_axis_taps(std::int64_t size, std::int64_t start, std::int64_t len, std::int64_t out,
                                   PadMode pad) {
  const double scale = static_cast<double>(len) / static_cast<double>(out);
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  AxisTaps t;
  t.n = static_cast<std::int64_t>(std::ceil(support)) * 2 + 1;
  t.src.assign(static_cast<std::size_t>(out * t.n), -1);
  t.w.assign(static_cast<std::size_t>(out * t.n), 0);
  std::vector<double> k(static_cast<std::size_t>(t.n));
  for (std::int64_t o = 0; o < out; ++o) {
    const double center = (static_cast<double>(o) + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    std::int64_t xmin = static_cast<std::int64_t>(center - support + 0.5);  // C's (int) cast, as PIL
    xmin = std::max<std::int64_t>(xmin, 0);
    std::int64_t xmax = static_cast<std::int64_t>(center + support + 0.5);
    xmax = std::min<std::int64_t>(xmax, len) - xmin;
    double total = 0.0;
    for (std::int64_t x = 0; x < xmax; ++x) {
      const double d = std::fabs((static_cast<double>(x + xmin) - center + 0.5) * ss);
      k[static_cast<std::size_t>(x)] = d < 1.0 ? 1.0 - d : 0.0;
      total += k[static_cast<std::size_t>(x)];
    }
    for (std::int64_t x = 0; x < xmax; ++x) {
      const double wgt = total != 0.0 ? k[static_cast<std::size_t>(x)] / total : 0.0;
      const auto i = static_cast<std::size_t>(o * t.n + x);
      t.w[i] = static_cast<std::int32_t>(wgt < 0 ? -0.5 + wgt * (1 << kResamplePrecisionBits)
                                                 : 0.5 + wgt * (1 << kResamplePrecisionBits));
      t.src[i] = padded_source_index(x + xmin, start, len, size, pad);
    }
  }
  return t;
}

inline std::uint8_t clip8(std::int64_t v) {
  return static_cast<std::uint8_t>(std::clamp<std::int64_t>(v >> kResamplePrecisionBits, 0, 255));
}
// always_inline: the AVX2 builds below must inline it (GCC does not inline a plain function into one
// built for another target) for their loops to vectorise.
[[gnu::always_inline]] inline std::uint8_t clip8(std::int32_t v) {
  const std::int32_t s = v >> kResamplePrecisionBits;
  return static_cast<std::uint8_t>(s < 0 ? 0 : (s > 255 ? 255 : s));
}

// AxisTaps without the taps that add nothing (weight 0, or a zero of PadMode::zeros), so the loops below
// have no branch: every output has `n` taps, as many as the busiest output needs, the unused ones reading
// source 0 with weight 0 (adding 0 * pixel leaves the sum exact). Upscaling 375 -> 460 keeps 2 of PIL's 3
// taps; shrinking by 2.1 keeps 5 of 7. `src` holds element offsets (source pixel x `stride`).
struct CompactTaps {
  int n = 0;
  std::vector<std::int32_t> src;
  std::vector<std::int32_t> w;
};
inline CompactTaps compact_taps(const AxisTaps& t, std::int64_t out, std::int64_t stride) {
  CompactTaps c;
  for (std::int64_t o = 0; o < out; ++o) {
    int used = 0;
    for (std::int64_t k = 0; k < t.n; ++k) {
      const auto i = static_cast<std::size_t>(o * t.n + k);
      used += t.w[i] != 0 && t.src[i] >= 0;
    }
    c.n = std::max(c.n, used);
  }
  c.src.assign(static_cast<std::size_t>(out * c.n), 0);
  c.w.assign(static_cast<std::size_t>(out * c.n), 0);
  for (std::int64_t o = 0; o < out; ++o) {
    std::int64_t j = o * c.n;
    for (std::int64_t k = 0; k < t.n; ++k) {
      const auto i = static_cast<std::size_t>(o * t.n + k);
      if (t.w[i] == 0 || t.src[i] < 0) continue;
      c.src[static_cast<std::size_t>(j)] = static_cast<std::int32_t>(t.src[i] * stride);
      c.w[static_cast<std::size_t>(j++)] = t.w[i];
    }
  }
  return c;
}

// Per-thread scratch that keeps its memory between calls: a loader thread resizes image after image, and
// a fresh buffer each time costs page faults and zero-filling (a third of the resize's time, measured).
inline std::uint8_t* resample_scratch(std::size_t n) {
  thread_local std::vector<std::uint8_t> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// The horizontal pass of one source row: out[ox] = clip8(sum_k row[src[ox,k] + c] * w[ox,k]) per channel.
template <int N>
[[gnu::always_inline]] inline void pil_row_h(const std::uint8_t* row, const CompactTaps& xt, std::int64_t o0,
                                             std::int64_t width, std::uint8_t* out) {
  constexpr std::int32_t half = std::int32_t{1} << (kResamplePrecisionBits - 1);
  const int n = N > 0 ? N : xt.n;
  const std::int32_t* src = xt.src.data() + o0 * n;
  const std::int32_t* wt = xt.w.data() + o0 * n;
  for (std::int64_t ox = 0; ox < width; ++ox, src += n, wt += n) {
    std::int32_t a0 = half, a1 = half, a2 = half;
    for (int k = 0; k < n; ++k) {
      const std::uint8_t* p = row + src[k];
      a0 += p[0] * wt[k], a1 += p[1] * wt[k], a2 += p[2] * wt[k];
    }
    out[ox * 3 + 0] = clip8(a0), out[ox * 3 + 1] = clip8(a1), out[ox * 3 + 2] = clip8(a2);
  }
}

// The vertical pass of one output row: out[j] = clip8(sum_k rows[k][j] * w[k]), contiguous, so the compiler
// vectorises the j loop (8 lanes with AVX2: see pil_row_v_avx2) once the N taps are unrolled.
template <int N>
[[gnu::always_inline]] inline void pil_row_v_n(const std::uint8_t* const* rows, const std::int32_t* w,
                                               std::int64_t len, std::uint8_t* out) {
  constexpr std::int32_t half = std::int32_t{1} << (kResamplePrecisionBits - 1);
  for (std::int64_t j = 0; j < len; ++j) {
    std::int32_t a = half;
    for (int k = 0; k < N; ++k) a += rows[k][j] * w[k];
    out[j] = clip8(a);
  }
}
[[gnu::always_inline]] inline void pil_row_v(const std::uint8_t* const* rows, const std::int32_t* w, int n,
                                             std::int64_t len, std::uint8_t* out) {
  switch (n) {
    case 1: return pil_row_v_n<1>(rows, w, len, out);
    case 2: return pil_row_v_n<2>(rows, w, len, out);
    case 3: return pil_row_v_n<3>(rows, w, len, out);
    case 4: return pil_row_v_n<4>(rows, w, len, out);
    case 5: return pil_row_v_n<5>(rows, w, len, out);
    case 6: return pil_row_v_n<6>(rows, w, len, out);
    case 7: return pil_row_v_n<7>(rows, w, len, out);
    default: break;
  }
  // Larger shrinks (more than 3.5x): the taps in groups of 7 would change PIL's rounding, which happens
  // once at the end, so sum all taps per value.
  constexpr std::int32_t half = std::int32_t{1} << (kResamplePrecisionBits - 1);
  for (std::int64_t j = 0; j < len; ++j) {
    std::int32_t a = half;
    for (int k = 0; k < n; ++k) a += rows[k][j] * w[k];
    out[j] = clip8(a);
  }
}

#if defined(FASTPP_IMAGE_AVX2)
// One output pixel's three channels in the lanes of one vector: each tap loads 4 bytes (R, G, B and the
// next pixel's R, which lands in a lane never stored), widens them to int32 and multiplies by the weight,
// so 2 taps cost 2 multiplies instead of 6; saturating packs do clip8's clamp. The 4-byte load reads one
// byte past the pixel, which stays inside the image except at its very last pixel: the image's last row
// takes pil_row_h instead. Each store writes 4 bytes, the fourth overwritten by the next pixel (the
// scratch has slack for the last).
template <int N>
FASTPP_IMAGE_AVX2_INLINE void pil_row_h_sse(const std::uint8_t* row,
                                                                            const CompactTaps& xt, std::int64_t o0,
                                                                            std::int64_t width, std::uint8_t* out) {
  const int n = N > 0 ? N : xt.n;
  const std::int32_t* src = xt.src.data() + o0 * n;
  const std::int32_t* wt = xt.w.data() + o0 * n;
  const __m128i half = _mm_set1_epi32(std::int32_t{1} << (kResamplePrecisionBits - 1));
  for (std::int64_t ox = 0; ox < width; ++ox, src += n, wt += n) {
    __m128i acc = half;
    for (int k = 0; k < n; ++k) {
      std::int32_t four;
      std::memcpy(&four, row + src[k], 4);
      const __m128i px = _mm_cvtepu8_epi32(_mm_cvtsi32_si128(four));
      acc = _mm_add_epi32(acc, _mm_mullo_epi32(px, _mm_set1_epi32(wt[k])));
    }
    acc = _mm_srai_epi32(acc, kResamplePrecisionBits);
    const __m128i packed = _mm_packus_epi16(_mm_packs_epi32(acc, acc), acc);
    const std::int32_t bytes = _mm_cvtsi128_si32(packed);
    std::memcpy(out + ox * 3, &bytes, 4);
  }
}
// The loops compiled for AVX2 (image_isa.hpp): the vertical pass as written, in 8 int32 lanes; the
// horizontal one as pil_row_h_sse.
FASTPP_IMAGE_AVX2_FN inline void pil_rows_h_avx2(const std::uint8_t* src, std::int64_t h, std::int64_t w,
                                                                 std::int64_t r0, std::int64_t rows,
                                                                 const CompactTaps& xt, std::int64_t o0,
                                                                 std::int64_t width, std::uint8_t* tmp) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::uint8_t* row = src + (r0 + r) * w * 3;
    std::uint8_t* out = tmp + r * width * 3;
    if (r0 + r == h - 1) pil_row_h<0>(row, xt, o0, width, out);  // its last pixel has no byte after it
    else if (xt.n == 2) pil_row_h_sse<2>(row, xt, o0, width, out);
    else if (xt.n == 3) pil_row_h_sse<3>(row, xt, o0, width, out);
    else pil_row_h_sse<0>(row, xt, o0, width, out);
  }
}
FASTPP_IMAGE_AVX2_FN inline void pil_row_v_avx2(const std::uint8_t* const* rows, const std::int32_t* w,
                                                                int n, std::int64_t len, std::uint8_t* out) {
  pil_row_v(rows, w, n, len, out);
}
#endif

inline void pil_rows_h_portable(const std::uint8_t* src, std::int64_t w, std::int64_t r0, std::int64_t rows,
                                const CompactTaps& xt, std::int64_t o0, std::int64_t width, std::uint8_t* tmp) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::uint8_t* row = src + (r0 + r) * w * 3;
    std::uint8_t* out = tmp + r * width * 3;
    if (xt.n == 2) pil_row_h<2>(row, xt, o0, width, out);
    else if (xt.n == 3) pil_row_h<3>(row, xt, o0, width, out);
    else pil_row_h<0>(row, xt, o0, width, out);
  }
}
inline void pil_row_v_portable(const std::uint8_t* const* rows, const std::int32_t* w, int n, std::int64_t len,
                               std::uint8_t* out) {
  pil_row_v(rows, w, n, len, out);
}

// Crops `box` out of the h x w RGB image `src` (padding where the box leaves the image), resizes it to
// out_h x out_w, and writes the part `win` of that result to dst (win.height x win.width x 3). The caller
// has checked the sizes: box and win non-empty, win inside out_h x out_w. Bit-exact with PIL: the same
// taps and rounding, only the zero taps left out.
inline void resample_pil_bilinear_rgb(const std::uint8_t* src, std::int64_t h, std::int64_t w, PixelBox box,
                                      std::int64_t out_h, std::int64_t out_w, PadMode pad, PixelBox win,
                                      std::uint8_t* dst) {
  const CompactTaps xt = compact_taps(bilinear_axis_taps(w, box.left, box.width, out_w, pad), out_w, 3);
  const CompactTaps yt = compact_taps(bilinear_axis_taps(h, box.top, box.height, out_h, pad), out_h, 1);

  // Source rows the vertical pass reads, for the window's rows (unused taps read row 0 with weight 0).
  std::int64_t r0 = h, r1 = -1;
  for (std::int64_t o = win.top; o < win.top + win.height; ++o)
    for (int k = 0; k < yt.n; ++k) {
      const auto i = static_cast<std::size_t>(o * yt.n + k);
      if (yt.w[i] != 0) r0 = std::min<std::int64_t>(r0, yt.src[i]), r1 = std::max<std::int64_t>(r1, yt.src[i]);
    }
  if (r1 < r0) r0 = r1 = 0;  // every weight 0 (all padding): one row of zeros is read
  const std::int64_t rows = r1 - r0 + 1;
  const std::int64_t row_len = win.width * 3;

  // Horizontal pass into uint8 rows (PIL rounds between the passes).
  std::uint8_t* tmp = resample_scratch(static_cast<std::size_t>(rows * row_len) + 4);
#if defined(FASTPP_IMAGE_AVX2)
  if (image_use_avx2()) pil_rows_h_avx2(src, h, w, r0, rows, xt, win.left, win.width, tmp);
  else
#endif
    pil_rows_h_portable(src, w, r0, rows, xt, win.left, win.width, tmp);

  // Vertical pass: each output row sums whole intermediate rows (contiguous, vectorisable).
  std::vector<const std::uint8_t*> trows(static_cast<std::size_t>(yt.n));
  for (std::int64_t oy = 0; oy < win.height; ++oy) {
    const std::int64_t o = win.top + oy;
    const std::int32_t* wt = yt.w.data() + o * yt.n;
    for (int k = 0; k < yt.n; ++k) {
      const std::int64_t s = wt[k] != 0 ? yt.src[static_cast<std::size_t>(o * yt.n + k)] : r0;
      trows[static_cast<std::size_t>(k)] = tmp + (s - r0) * row_len;
    }
    std::uint8_t* out = dst + oy * row_len;
#if defined(FASTPP_IMAGE_AVX2)
    if (image_use_avx2()) pil_row_v_avx2(trows.data(), wt, yt.n, row_len, out);
    else
#endif
      pil_row_v_portable(trows.data(), wt, yt.n, row_len, out);
  }
}

}  // namespace fastpp::backend::cpu_detail
