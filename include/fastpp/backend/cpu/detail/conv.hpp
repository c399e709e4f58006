#pragma once
// Convolution over NHWC: im2col + one GEMM per chunk of images, and its adjoints.
// Internal to the cpu backend: include fastpp/backend/cpu/layer_kernels.hpp instead.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../../../core/thread_pool.hpp"
#include "../../geometry.hpp"
#include "kernel.hpp"
#include "gemm.hpp"

namespace fastpp::backend::cpu_detail {

// col[(img*Ho + oy)*Wo + ox, (i*kw + j)*cg + c] = x[img, oy*s - p + i*d, ox*s - p + j*d, c0 + c] (0 outside),
// for images [n0, n1).
FASTPP_KERNEL void im2col_nhwc(const float* x, const ConvGeom& g, i64 n0, i64 n1, i64 c0, float* col) {
  const i64 ho = g.ho(), wo = g.wo(), cg = g.cg(), kd = g.k();
  parallel_for(0, (n1 - n0) * ho, 4, [&](i64 b, i64 e) {
    for (i64 r = b; r < e; ++r) {
      const i64 img = n0 + r / ho, oy = r % ho;
      for (i64 ox = 0; ox < wo; ++ox) {
        float* dst = col + (r * wo + ox) * kd;
        for (i64 i = 0; i < g.kh; ++i) {
          const i64 y = oy * g.stride - g.pad + i * g.dil;
          for (i64 j = 0; j < g.kw; ++j, dst += cg) {
            const i64 xx = ox * g.stride - g.pad + j * g.dil;
            if (y >= 0 && y < g.h && xx >= 0 && xx < g.w)
              std::copy_n(x + ((img * g.h + y) * g.w + xx) * g.cin + c0, cg, dst);
            else
              std::fill_n(dst, cg, 0.0f);
          }
        }
      }
    }
  });
}

// The adjoint of im2col: dx[img, y, x, c0 + c] = sum of the col entries that read it, for images [n0, n1).
// Written as a gather over input pixels, so threads never write the same element.
FASTPP_KERNEL void col2im_nhwc(const float* col, const ConvGeom& g, i64 n0, i64 n1, i64 c0, float* dx) {
  const i64 ho = g.ho(), wo = g.wo(), cg = g.cg(), kd = g.k();
  parallel_for(0, (n1 - n0) * g.h, 2, [&](i64 b, i64 e) {
    for (i64 r = b; r < e; ++r) {
      const i64 img = n0 + r / g.h, y = r % g.h;
      for (i64 xx = 0; xx < g.w; ++xx) {
        float* d = dx + ((img * g.h + y) * g.w + xx) * g.cin + c0;
        std::fill_n(d, cg, 0.0f);
        for (i64 i = 0; i < g.kh; ++i) {
          const i64 ty = y + g.pad - i * g.dil;
          if (ty < 0 || ty % g.stride != 0 || ty / g.stride >= ho) continue;
          const i64 oy = ty / g.stride;
          for (i64 j = 0; j < g.kw; ++j) {
            const i64 tx = xx + g.pad - j * g.dil;
            if (tx < 0 || tx % g.stride != 0 || tx / g.stride >= wo) continue;
            const i64 ox = tx / g.stride;
            const float* src = col + (((img - n0) * ho + oy) * wo + ox) * kd + (i * g.kw + j) * cg;
            for (i64 c = 0; c < cg; ++c) d[c] += src[c];
          }
        }
      }
    }
  });
}

// Images per im2col chunk, so the column buffer stays near 16 M floats whatever the batch size.
inline i64 conv_chunk_images(const ConvGeom& g) {
  const i64 per_image = std::max<i64>(1, g.ho() * g.wo() * g.k());
  return std::clamp<i64>((i64{1} << 24) / per_image, 1, g.n);
}

// y[N*Ho*Wo, Cout] = conv(x, w) (+ bias).
FASTPP_KERNEL void conv2d_forward(const float* x, const float* w, const float* bias, const ConvGeom& g, float* y,
                           std::vector<float>& col) {
  const i64 hw = g.ho() * g.wo(), cog = g.cog(), kd = g.k(), cg = g.cg();
  if (g.direct()) {
    gemm(false, true, g.n * hw, g.cout, g.cin, x, g.cin, w, g.cin, 0.0f, y, g.cout);
  } else {
    const i64 chunk = conv_chunk_images(g);
    col.resize(static_cast<std::size_t>(chunk * hw * kd));
    for (i64 n0 = 0; n0 < g.n; n0 += chunk) {
      const i64 n1 = std::min(g.n, n0 + chunk), rows = (n1 - n0) * hw;
      for (i64 gr = 0; gr < g.groups; ++gr) {
        im2col_nhwc(x, g, n0, n1, gr * cg, col.data());
        gemm(false, true, rows, cog, kd, col.data(), kd, w + gr * cog * kd, kd, 0.0f, y + n0 * hw * g.cout + gr * cog,
             g.cout);
      }
    }
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
  const i64 chunk = conv_chunk_images(g);
  col.resize(static_cast<std::size_t>(chunk * hw * kd));
  dcol.resize(static_cast<std::size_t>(chunk * hw * kd));
  for (i64 n0 = 0; n0 < g.n; n0 += chunk) {
    const i64 n1 = std::min(g.n, n0 + chunk), rows = (n1 - n0) * hw;
    for (i64 gr = 0; gr < g.groups; ++gr) {
      const float* dyg = dy + n0 * hw * g.cout + gr * cog;  // [rows, cog] with row stride cout
      if (dw) {
        im2col_nhwc(x, g, n0, n1, gr * cg, col.data());
        gemm(true, false, cog, kd, rows, dyg, g.cout, col.data(), kd, 1.0f, dw + gr * cog * kd, kd);
      }
      if (dx) {
        gemm(false, false, rows, kd, cog, dyg, g.cout, w + gr * cog * kd, kd, 0.0f, dcol.data(), kd);
        col2im_nhwc(dcol.data(), g, n0, n1, gr * cg, dx);
      }
    }
  }
}

}  // namespace fastpp::backend::cpu_detail
