#pragma once
// Convolution over NHWC: im2col + one GEMM per chunk of images, and its adjoints.
// Internal to the cpu backend: include fastpp/backend/cpu/layer_kernels.hpp instead.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../../../core/thread_pool.hpp"
#include "../../geometry.hpp"
#include "kernel.hpp"
#include "gemm.hpp"

namespace fastpp::backend::cpu_detail {

// The taps [lo, hi) of a window row (or column) that start at `first` and step by `dil` which land inside
// [0, size): the others read the zero padding.
struct TapRange {
  i64 lo, hi;
};
inline TapRange taps_inside(i64 first, i64 dil, i64 taps, i64 size) {
  i64 lo = 0, hi = taps;
  while (lo < taps && first + lo * dil < 0) ++lo;
  while (hi > lo && first + (hi - 1) * dil >= size) --hi;
  return {lo, hi};
}

// Plain loops, not copy_n / fill_n: with 3 to 64 channels a call to memmove per tap cost more than the copy.
inline void copy_floats(float* dst, const float* src, i64 n) {
  for (i64 c = 0; c < n; ++c) dst[c] = src[c];
}
inline void zero_floats(float* dst, i64 n) {
  for (i64 c = 0; c < n; ++c) dst[c] = 0.0f;
}

// col[(img*Ho + oy)*Wo + ox, (i*kw + j)*cg + c] = x[img, oy*s - p + i*d, ox*s - p + j*d, c0 + c] (0 outside),
// for images [n0, n1).
// A window row's taps that land inside the image are found once per output pixel; where the dilation is 1
// and the group is every channel they are one contiguous run of x (kw * cin floats), copied in one go
// (the per-tap bounds checks and short copies cost the main job's network 11% of its step).
FASTPP_KERNEL void im2col_nhwc(const float* x, const ConvGeom& g, i64 n0, i64 n1, i64 c0, float* col) {
  const i64 ho = g.ho(), wo = g.wo(), cg = g.cg(), kd = g.k(), row = g.kw * cg;
  const bool runs = g.dil == 1 && cg == g.cin;
  parallel_for(0, (n1 - n0) * ho, 4, [&](i64 b, i64 e) {
    for (i64 r = b; r < e; ++r) {
      const i64 img = n0 + r / ho, oy = r % ho;
      const TapRange ti = taps_inside(oy * g.stride - g.pad, g.dil, g.kh, g.h);
      for (i64 ox = 0; ox < wo; ++ox) {
        float* dst = col + (r * wo + ox) * kd;
        const i64 x0 = ox * g.stride - g.pad;
        const TapRange tj = taps_inside(x0, g.dil, g.kw, g.w);
        zero_floats(dst, ti.lo * row);
        for (i64 i = ti.lo; i < ti.hi; ++i) {
          float* d = dst + i * row;
          const float* src = x + ((img * g.h + oy * g.stride - g.pad + i * g.dil) * g.w + x0) * g.cin + c0;
          zero_floats(d, tj.lo * cg);
          if (runs) {
            copy_floats(d + tj.lo * cg, src + tj.lo * cg, (tj.hi - tj.lo) * cg);
          } else {
            for (i64 j = tj.lo; j < tj.hi; ++j) copy_floats(d + j * cg, src + j * g.dil * g.cin, cg);
          }
          zero_floats(d + tj.hi * cg, (g.kw - tj.hi) * cg);
        }
        zero_floats(dst + ti.hi * row, (g.kh - ti.hi) * row);
      }
    }
  });
}

// The output positions that read input coordinate `at` along one axis, and through which tap: tap t reads
// at = o*stride - pad + t*dil, so o = (at + pad - t*dil) / stride where that divides evenly and 0 <= o < outs.
// Returns how many were written to taps[] and outs_at[] (at most `kernel`).
inline i64 readers_of(i64 at, i64 pad, i64 stride, i64 dil, i64 kernel, i64 outs, i64* taps, i64* outs_at) {
  i64 count = 0;
  for (i64 t = 0; t < kernel; ++t) {
    const i64 q = at + pad - t * dil;
    if (q < 0 || q % stride != 0 || q / stride >= outs) continue;
    taps[count] = t;
    outs_at[count++] = q / stride;
  }
  return count;
}

// The adjoint of im2col: dx[img, y, x, c0 + c] = sum of the col entries that read it, for images [n0, n1).
// Written as a gather over input pixels, so threads never write the same element. Which (tap, output) pairs
// read a column x is worked out once per call, not once per pixel (the divisions cost more than the adds).
FASTPP_KERNEL void col2im_nhwc(const float* col, const ConvGeom& g, i64 n0, i64 n1, i64 c0, float* dx) {
  const i64 ho = g.ho(), wo = g.wo(), cg = g.cg(), kd = g.k();
  // Per input row y (and column x): the count of readers, then their taps, then their output rows (columns).
  const i64 ystride = 2 * g.kh + 1, xstride = 2 * g.kw + 1;
  std::vector<i64> readers(static_cast<std::size_t>(g.h * ystride + g.w * xstride));
  i64* const ys = readers.data();
  i64* const xs = ys + g.h * ystride;
  for (i64 y = 0; y < g.h; ++y) {
    i64* at = ys + y * ystride;
    at[0] = readers_of(y, g.pad, g.stride, g.dil, g.kh, ho, at + 1, at + 1 + g.kh);
  }
  for (i64 xx = 0; xx < g.w; ++xx) {
    i64* at = xs + xx * xstride;
    at[0] = readers_of(xx, g.pad, g.stride, g.dil, g.kw, wo, at + 1, at + 1 + g.kw);
  }
  parallel_for(0, (n1 - n0) * g.h, 2, [&](i64 b, i64 e) {
    for (i64 r = b; r < e; ++r) {
      const i64 img = n0 + r / g.h, y = r % g.h;
      const i64* ay = ys + y * ystride;
      const float* col_img = col + (img - n0) * ho * wo * kd;
      for (i64 xx = 0; xx < g.w; ++xx) {
        float* d = dx + ((img * g.h + y) * g.w + xx) * g.cin + c0;
        const i64* ax = xs + xx * xstride;
        zero_floats(d, cg);
        for (i64 a = 0; a < ay[0]; ++a)
          for (i64 q = 0; q < ax[0]; ++q) {
            const i64 oy = ay[1 + g.kh + a], ox = ax[1 + g.kw + q], i = ay[1 + a], j = ax[1 + q];
            const float* src = col_img + (oy * wo + ox) * kd + (i * g.kw + j) * cg;
            for (i64 c = 0; c < cg; ++c) d[c] += src[c];
          }
      }
    }
  });
}

// Images per im2col chunk: about a quarter of a megabyte of columns, so a chunk's columns are written and
// read back by the GEMM while they are still in the core's L2 cache (the whole batch's columns, up to
// 64 MB, went to memory and back), but at least conv_min_chunk_rows output pixels: each chunk's GEMMs read
// the whole weight (and the weight gradient's read and write it), which a few rows would not pay for
// (ResNet-50's 4x4 stage at 64 px ran 15% slower with one image a chunk). Depends on the geometry only,
// never on the thread count.
inline constexpr i64 conv_chunk_floats = i64{1} << 16;
inline constexpr i64 conv_min_chunk_rows = 256;
inline i64 conv_chunk_images(const ConvGeom& g) {
  const i64 hw = std::max<i64>(1, g.ho() * g.wo()), per_image = hw * std::max<i64>(1, g.k());
  const i64 by_cache = conv_chunk_floats / per_image, by_rows = (conv_min_chunk_rows + hw - 1) / hw;
  return std::clamp<i64>(std::max(by_cache, by_rows), 1, g.n);
}

// Runs part(p, scratch) for p in [0, parts), the parts spread over the pool; scratch is a slice of `buf`
// (floats_per_part long) that no other running part uses. Each thread takes the next part not yet taken, so
// parts of unequal cost even out (which thread runs a part never changes what the part computes).
template <class Part>
void for_each_part(i64 parts, i64 floats_per_part, std::vector<float>& buf, Part&& part) {
  const i64 slots = std::min<i64>(parts, get_num_threads());
  buf.resize(static_cast<std::size_t>(slots * floats_per_part));
  std::atomic<i64> next{0};
  parallel_for(0, slots, 1, [&](i64 sb, i64 se) {
    for (i64 slot = sb; slot < se; ++slot)
      for (i64 p = next++; p < parts; p = next++) part(p, buf.data() + slot * floats_per_part);
  });
}

// y[N*Ho*Wo, Cout] = conv(x, w) (+ bias).
FASTPP_KERNEL void conv2d_forward(const float* x, const float* w, const float* bias, const ConvGeom& g, float* y,
                           std::vector<float>& col) {
  const i64 hw = g.ho() * g.wo(), cog = g.cog(), kd = g.k(), cg = g.cg();
  if (g.direct()) {
    gemm(false, true, g.n * hw, g.cout, g.cin, x, g.cin, w, g.cin, 0.0f, y, g.cout);
  } else {
    // Each chunk of images: im2col into this thread's scratch, then its rows of y, while the columns are hot.
    const i64 chunk = conv_chunk_images(g), chunks = (g.n + chunk - 1) / chunk;
    for_each_part(chunks, chunk * hw * kd, col, [&](i64 c, float* scratch) {
      const i64 n0 = c * chunk, n1 = std::min(g.n, n0 + chunk), rows = (n1 - n0) * hw;
      for (i64 gr = 0; gr < g.groups; ++gr) {
        im2col_nhwc(x, g, n0, n1, gr * cg, scratch);
        gemm_serial(false, true, rows, cog, kd, scratch, kd, w + gr * cog * kd, kd, 0.0f,
                    y + n0 * hw * g.cout + gr * cog, g.cout);
      }
    });
  }
  if (bias) {
    parallel_for(0, g.n * hw, 256, [&](i64 b, i64 e) {
      for (i64 r = b; r < e; ++r)
        for (i64 c = 0; c < g.cout; ++c) y[r * g.cout + c] += bias[c];
    });
  }
}

// Sum over rows of a [rows, cols] matrix into out[cols] (+=), in double, in fixed chunks so the result
// does not depend on the number of threads.
FASTPP_KERNEL void add_column_sums(const float* a, i64 rows, i64 cols, float* out) {
  constexpr i64 chunk = 1024;
  const i64 chunks = (rows + chunk - 1) / chunk;
  std::vector<double> part(static_cast<std::size_t>(chunks * cols), 0.0);
  parallel_for(0, chunks, 1, [&](i64 b, i64 e) {
    for (i64 k = b; k < e; ++k) {
      double* p = part.data() + k * cols;
      for (i64 r = k * chunk; r < std::min(rows, (k + 1) * chunk); ++r)
        for (i64 c = 0; c < cols; ++c) p[c] += a[r * cols + c];
    }
  });
  for (i64 c = 0; c < cols; ++c) {
    double s = 0;
    for (i64 k = 0; k < chunks; ++k) s += part[static_cast<std::size_t>(k * cols + c)];
    out[c] += static_cast<float>(s);
  }
}

// Given dy[N*Ho*Wo, Cout]: dw += dy^T col (when dw), dbias += column sums (when dbias), dx = col2im(dy W)
// (when dx).
// The batch goes in chunks of images (conv_chunk_images). dx is per image, so chunks never share an element;
// dw sums over every chunk. Where dw is small, the chunks are split into a fixed number of groups spread
// over the pool: each group sums its chunks in order into a partial of its own, and the partials are added to
// dw in group order. Where dw is large (ResNet's last stages: 2.4M floats), partials would cost more memory
// traffic than they save, so the chunks go one after another and each product is split across the pool
// instead. Both choices depend on the geometry only, so dw is the same sum whatever the number of threads.
inline constexpr i64 conv_weight_groups = 8;
inline constexpr i64 conv_partials_budget = i64{1} << 21;  // floats of dw partials at most (8 MB)

// How many groups the backward splits its chunks into: a power of two (so 2 or 4 threads share them evenly)
// no larger than conv_weight_groups, the chunk count, or, where dw is computed, what the partials budget
// allows. 1 means the chunks go one after another, each product split across the pool. ResNet-18's layer3
// weights (590K floats) allow 3: its 16 chunks went 6, 6 and 4 to the groups, and 12 to 4 to two threads
// (66% of the GEMM's speed); two groups of 8 share evenly.
inline i64 conv_backward_groups(i64 chunks, i64 weight_floats, bool dw) {
  i64 cap = std::min(chunks, conv_weight_groups);
  if (dw) cap = std::min(cap, std::max<i64>(1, conv_partials_budget / weight_floats));
  i64 groups = 1;
  while (groups * 2 <= cap) groups *= 2;
  return groups;
}

FASTPP_KERNEL void conv2d_backward(const float* x, const float* w, const float* dy, const ConvGeom& g, float* dw,
                            float* dbias, float* dx, std::vector<float>& col, std::vector<float>& dcol) {
  const i64 hw = g.ho() * g.wo(), cog = g.cog(), kd = g.k(), cg = g.cg();
  if (dbias) add_column_sums(dy, g.n * hw, g.cout, dbias);
  if (g.direct()) {
    const i64 rows = g.n * hw;
    if (dw) gemm(true, false, g.cout, g.cin, rows, dy, g.cout, x, g.cin, 1.0f, dw, g.cin);
    if (dx) gemm(false, false, rows, g.cin, g.cout, dy, g.cout, w, g.cin, 0.0f, dx, g.cin);
    return;
  }
  const i64 chunk = conv_chunk_images(g), chunks = (g.n + chunk - 1) / chunk;
  const i64 cols = chunk * hw * kd, wsize = g.cout * kd;
  const i64 groups = conv_backward_groups(chunks, wsize, dw != nullptr);
  // One chunk's products; gemm_f is the serial GEMM inside a part, the pool-split one otherwise.
  const auto one_chunk = [&](i64 c, float* scratch, float* dw_into, auto&& gemm_f) {
    const i64 n0 = c * chunk, n1 = std::min(g.n, n0 + chunk), rows = (n1 - n0) * hw;
    for (i64 gr = 0; gr < g.groups; ++gr) {
      const float* dyg = dy + n0 * hw * g.cout + gr * cog;  // [rows, cog] with row stride cout
      if (dw) {
        im2col_nhwc(x, g, n0, n1, gr * cg, scratch);
        gemm_f(true, false, cog, kd, rows, dyg, g.cout, scratch, kd, 1.0f, dw_into + gr * cog * kd, kd);
      }
      if (dx) {
        gemm_f(false, false, rows, kd, cog, dyg, g.cout, w + gr * cog * kd, kd, 0.0f, scratch, kd);
        col2im_nhwc(scratch, g, n0, n1, gr * cg, dx);
      }
    }
  };
  if (groups == 1) {
    col.resize(static_cast<std::size_t>(cols));
    for (i64 c = 0; c < chunks; ++c) one_chunk(c, col.data(), dw, gemm);
    return;
  }
  // The groups' partials of dw live in `col` (the layer's workspace, unused on this path), so a training step
  // does not allocate them anew.
  std::vector<float>& partials = col;
  if (dw) partials.assign(static_cast<std::size_t>(groups * wsize), 0.0f);
  // group k sums chunks [k*chunks/groups, (k+1)*chunks/groups): their counts differ by one at most
  for_each_part(groups, cols, dcol, [&](i64 grp, float* scratch) {
    for (i64 c = grp * chunks / groups; c < (grp + 1) * chunks / groups; ++c)
      one_chunk(c, scratch, dw ? partials.data() + grp * wsize : nullptr, gemm_serial);
  });
  if (dw)
    parallel_for(0, wsize, 4096, [&](i64 b, i64 e) {
      for (i64 grp = 0; grp < groups; ++grp)
        for (i64 i = b; i < e; ++i) dw[i] += partials[static_cast<std::size_t>(grp * wsize + i)];
    });
}

}  // namespace fastpp::backend::cpu_detail
