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
#include <vector>

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

// Crops `box` out of the h x w RGB image `src` (padding where the box leaves the image), resizes it to
// out_h x out_w, and writes the part `win` of that result to dst (win.height x win.width x 3). The caller
// has checked the sizes: box and win non-empty, win inside out_h x out_w.
inline void resample_pil_bilinear_rgb(const std::uint8_t* src, std::int64_t h, std::int64_t w, PixelBox box,
                                      std::int64_t out_h, std::int64_t out_w, PadMode pad, PixelBox win,
                                      std::uint8_t* dst) {
  const auto xt = bilinear_axis_taps(w, box.left, box.width, out_w, pad);
  const auto yt = bilinear_axis_taps(h, box.top, box.height, out_h, pad);

  // Source rows the vertical pass reads, for the window's rows.
  std::int64_t r0 = h, r1 = -1;
  for (std::int64_t o = win.top; o < win.top + win.height; ++o)
    for (std::int64_t k = 0; k < yt.n; ++k) {
      const auto i = static_cast<std::size_t>(o * yt.n + k);
      if (yt.w[i] != 0 && yt.src[i] >= 0) r0 = std::min(r0, yt.src[i]), r1 = std::max(r1, yt.src[i]);
    }
  const std::int64_t rows = r1 >= r0 ? r1 - r0 + 1 : 0;

  // Horizontal pass into uint8 rows (PIL rounds between the passes).
  std::vector<std::uint8_t> tmp(static_cast<std::size_t>(std::max<std::int64_t>(rows, 1) * win.width * 3));
  constexpr std::int64_t half = std::int64_t{1} << (kResamplePrecisionBits - 1);
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::uint8_t* row = src + (r0 + r) * w * 3;
    std::uint8_t* out = tmp.data() + r * win.width * 3;
    for (std::int64_t ox = 0; ox < win.width; ++ox) {
      const std::int64_t o = win.left + ox;
      std::int32_t acc[3] = {static_cast<std::int32_t>(half), static_cast<std::int32_t>(half),
                             static_cast<std::int32_t>(half)};
      for (std::int64_t k = 0; k < xt.n; ++k) {
        const auto i = static_cast<std::size_t>(o * xt.n + k);
        const std::int64_t s = xt.src[i];
        if (s < 0) continue;
        const std::int32_t wgt = xt.w[i];
        acc[0] += row[s * 3 + 0] * wgt;
        acc[1] += row[s * 3 + 1] * wgt;
        acc[2] += row[s * 3 + 2] * wgt;
      }
      for (int c = 0; c < 3; ++c) out[ox * 3 + c] = clip8(acc[c]);
    }
  }

  // Vertical pass: row by row, each tap adds a whole intermediate row (contiguous, vectorisable).
  const std::int64_t row_len = win.width * 3;
  std::vector<std::int32_t> acc(static_cast<std::size_t>(row_len));
  for (std::int64_t oy = 0; oy < win.height; ++oy) {
    const std::int64_t o = win.top + oy;
    std::fill(acc.begin(), acc.end(), static_cast<std::int32_t>(half));
    for (std::int64_t k = 0; k < yt.n; ++k) {
      const auto i = static_cast<std::size_t>(o * yt.n + k);
      const std::int64_t s = yt.src[i];
      const std::int32_t wgt = yt.w[i];
      if (s < 0 || wgt == 0) continue;
      const std::uint8_t* trow = tmp.data() + (s - r0) * row_len;
      for (std::int64_t j = 0; j < row_len; ++j) acc[static_cast<std::size_t>(j)] += trow[j] * wgt;
    }
    std::uint8_t* out = dst + oy * row_len;
    for (std::int64_t j = 0; j < row_len; ++j) out[j] = clip8(acc[static_cast<std::size_t>(j)]);
  }
}

}  // namespace fastpp::backend::cpu_detail
