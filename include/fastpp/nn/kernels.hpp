#pragma once
// The CPU kernels behind the layers, as plain (non-template) inline functions over float buffers, so a
// network of fifty layer types instantiates them once. Layout: activations NHWC, convolution weights
// OHWI ([Cout, kh, kw, Cin/groups]), so the im2col row of an output pixel is (i, j, c) and a convolution
// is one GEMM Y[N*Ho*Wo, Cout] = col[N*Ho*Wo, K] * W^T (docs/nn.md, "Layout"). GEMMs go through Eigen
// (and OpenBLAS where found); element loops through fastpp::parallel_for, never with BLAS inside.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../core/eigen.hpp"
#include "../core/thread_pool.hpp"

// The kernels are not inlined into each layer type that calls them: with fifty layer types in a ResNet,
// inlining the GEMM and loop bodies into every caller multiplied the compile time of a model.
#define FASTPP_KERNEL [[gnu::noinline]] inline

namespace fastpp::nn::kernels {

using i64 = std::int64_t;
using MatMap = Eigen::Map<RowMajorMatrix<float>>;
using CMatMap = Eigen::Map<const RowMajorMatrix<float>>;
using StridedMap = Eigen::Map<RowMajorMatrix<float>, 0, Eigen::OuterStride<>>;
using CStridedMap = Eigen::Map<const RowMajorMatrix<float>, 0, Eigen::OuterStride<>>;

// ---- GEMM ----------------------------------------------------------------------------------------

// C[m, n] (row stride ldc) = beta * C + op(A) * op(B) (not both transposed), with op(A) [m, k] and op(B) [k, n]; A and B are
// row-major with row strides lda and ldb, read transposed when ta / tb. Every product of the layers
// goes through this one function, so Eigen's product machinery is instantiated for three expression
// types (and, with EIGEN_USE_BLAS, each ends in one sgemm call).
FASTPP_KERNEL void gemm(bool ta, bool tb, i64 m, i64 n, i64 k, const float* a, i64 lda, const float* b, i64 ldb,
                        float beta, float* c, i64 ldc) {
  StridedMap C(c, m, n, Eigen::OuterStride<>(ldc));
  if (beta == 0.0f) C.setZero();
  else if (beta != 1.0f) C *= beta;
  if (m == 0 || n == 0 || k == 0) return;
  if (!ta && !tb) {
    C.noalias() += CStridedMap(a, m, k, Eigen::OuterStride<>(lda)) * CStridedMap(b, k, n, Eigen::OuterStride<>(ldb));
  } else if (!ta && tb) {
    C.noalias() += CStridedMap(a, m, k, Eigen::OuterStride<>(lda)) * CStridedMap(b, n, k, Eigen::OuterStride<>(ldb)).transpose();
  } else if (ta && !tb) {
    C.noalias() += CStridedMap(a, k, m, Eigen::OuterStride<>(lda)).transpose() * CStridedMap(b, k, n, Eigen::OuterStride<>(ldb));
  } else {
    throw ValueError("kernels::gemm: both operands transposed is not used by any layer");
  }
}

// ---- convolution ---------------------------------------------------------------------------------

struct ConvGeom {
  i64 n, h, w, cin, cout, kh, kw, stride, pad, dil, groups;
  i64 ho() const { return (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1; }
  i64 wo() const { return (w + 2 * pad - dil * (kw - 1) - 1) / stride + 1; }
  i64 cg() const { return cin / groups; }         // input channels per group
  i64 cog() const { return cout / groups; }       // output channels per group
  i64 k() const { return kh * kw * cg(); }        // GEMM reduction length
  bool direct() const { return kh == 1 && kw == 1 && stride == 1 && pad == 0 && groups == 1; }
};

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

// ---- linear --------------------------------------------------------------------------------------

// y[n, out] = x[n, in] w[out, in]^T + b
FASTPP_KERNEL void linear_forward(const float* x, const float* w, const float* b, i64 n, i64 in, i64 out, float* y) {
  gemm(false, true, n, out, in, x, in, w, in, 0.0f, y, out);
  if (b)
    for (i64 r = 0; r < n; ++r)
      for (i64 o = 0; o < out; ++o) y[r * out + o] += b[o];
}
FASTPP_KERNEL void linear_backward(const float* x, const float* w, const float* dy, i64 n, i64 in, i64 out, float* dw,
                            float* db, float* dx) {
  if (dw) gemm(true, false, out, in, n, dy, out, x, in, 1.0f, dw, in);
  if (db) add_column_sums(dy, n, out, db);
  if (dx) gemm(false, false, n, in, out, dy, out, w, in, 0.0f, dx, in);
}

// ---- batch normalisation over rows of C channels (NHWC: rows = N*H*W; BatchNorm1d: rows = N) -----

// Per-channel mean and biased variance of x[rows, C], in double, two passes, fixed chunking.
FASTPP_KERNEL void channel_mean_var(const float* x, i64 rows, i64 c, std::vector<double>& mean, std::vector<double>& var) {
  constexpr i64 chunk = 1024;
  const i64 chunks = (rows + chunk - 1) / chunk;
  std::vector<double> part(static_cast<std::size_t>(chunks * c));
  mean.assign(static_cast<std::size_t>(c), 0.0);
  var.assign(static_cast<std::size_t>(c), 0.0);
  auto reduce = [&](auto&& term, std::vector<double>& out) {
    std::fill(part.begin(), part.end(), 0.0);
    parallel_for(0, chunks, 1, [&](i64 b, i64 e) {
      for (i64 k = b; k < e; ++k) {
        double* p = part.data() + k * c;
        for (i64 r = k * chunk; r < std::min(rows, (k + 1) * chunk); ++r)
          for (i64 j = 0; j < c; ++j) p[j] += term(x[r * c + j], j);
      }
    });
    for (i64 k = 0; k < chunks; ++k)
      for (i64 j = 0; j < c; ++j) out[static_cast<std::size_t>(j)] += part[static_cast<std::size_t>(k * c + j)];
  };
  reduce([](float v, i64) { return static_cast<double>(v); }, mean);
  for (auto& m : mean) m /= static_cast<double>(rows);
  reduce([&](float v, i64 j) { const double d = v - mean[static_cast<std::size_t>(j)]; return d * d; }, var);
  for (auto& v : var) v /= static_cast<double>(rows);
}

// y = (x - mean) * scale + shift per channel, and xhat = (x - mean) * invstd when xhat is not null.
FASTPP_KERNEL void channel_affine(const float* x, i64 rows, i64 c, const float* mean, const float* invstd,
                           const float* gamma, const float* beta, float* y, float* xhat) {
  parallel_for(0, rows, 256, [&](i64 b, i64 e) {
    for (i64 r = b; r < e; ++r)
      for (i64 j = 0; j < c; ++j) {
        const float h = (x[r * c + j] - mean[j]) * invstd[j];
        if (xhat) xhat[r * c + j] = h;
        y[r * c + j] = h * gamma[j] + beta[j];
      }
  });
}

// Backward of batch-statistics normalisation: given xhat and dy, adds dgamma and dbeta (when not null)
// and writes dx = gamma*invstd/M * (M dy - sum dy - xhat sum(dy xhat)). With `frozen_stats` (eval mode)
// the statistics are constants: dx = dy * gamma * invstd.
FASTPP_KERNEL void batchnorm_backward(const float* xhat, const float* dy, i64 rows, i64 c, const float* gamma,
                               const float* invstd, bool frozen_stats, float* dgamma, float* dbeta, float* dx) {
  constexpr i64 chunk = 1024;
  const i64 chunks = (rows + chunk - 1) / chunk;
  std::vector<double> part(static_cast<std::size_t>(chunks * 2 * c), 0.0);
  parallel_for(0, chunks, 1, [&](i64 b, i64 e) {
    for (i64 k = b; k < e; ++k) {
      double* s = part.data() + k * 2 * c;
      double* sh = s + c;
      for (i64 r = k * chunk; r < std::min(rows, (k + 1) * chunk); ++r)
        for (i64 j = 0; j < c; ++j) {
          s[j] += dy[r * c + j];
          sh[j] += static_cast<double>(dy[r * c + j]) * xhat[r * c + j];
        }
    }
  });
  std::vector<double> sum(static_cast<std::size_t>(c), 0.0), sumh(static_cast<std::size_t>(c), 0.0);
  for (i64 k = 0; k < chunks; ++k)
    for (i64 j = 0; j < c; ++j) {
      sum[static_cast<std::size_t>(j)] += part[static_cast<std::size_t>(k * 2 * c + j)];
      sumh[static_cast<std::size_t>(j)] += part[static_cast<std::size_t>(k * 2 * c + c + j)];
    }
  for (i64 j = 0; j < c; ++j) {
    if (dgamma) dgamma[j] += static_cast<float>(sumh[static_cast<std::size_t>(j)]);
    if (dbeta) dbeta[j] += static_cast<float>(sum[static_cast<std::size_t>(j)]);
  }
  if (!dx) return;
  std::vector<float> a(static_cast<std::size_t>(c)), mb(static_cast<std::size_t>(c)), mh(static_cast<std::size_t>(c));
  for (i64 j = 0; j < c; ++j) {
    const auto u = static_cast<std::size_t>(j);
    a[u] = gamma[j] * invstd[j];
    mb[u] = frozen_stats ? 0.0f : static_cast<float>(sum[u] / static_cast<double>(rows));
    mh[u] = frozen_stats ? 0.0f : static_cast<float>(sumh[u] / static_cast<double>(rows));
  }
  parallel_for(0, rows, 256, [&](i64 b, i64 e) {
    for (i64 r = b; r < e; ++r)
      for (i64 j = 0; j < c; ++j) {
        const auto u = static_cast<std::size_t>(j);
        dx[r * c + j] = a[u] * (dy[r * c + j] - mb[u] - xhat[r * c + j] * mh[u]);
      }
  });
}

// ---- pooling (NHWC) ------------------------------------------------------------------------------

struct PoolGeom {
  i64 n, h, w, c, kh, kw, stride, pad;
  i64 ho() const { return (h + 2 * pad - kh) / stride + 1; }
  i64 wo() const { return (w + 2 * pad - kw) / stride + 1; }
};

// Max over each window (padding counts as -inf, as in PyTorch); argmax[o] = flat input index within
// the image, the first maximum in (i, j) order.
FASTPP_KERNEL void maxpool2d_forward(const float* x, const PoolGeom& g, float* y, std::int32_t* argmax) {
  const i64 ho = g.ho(), wo = g.wo();
  parallel_for(0, g.n * ho, 2, [&](i64 b, i64 e) {
    for (i64 r = b; r < e; ++r) {
      const i64 img = r / ho, oy = r % ho;
      const float* xi = x + img * g.h * g.w * g.c;
      for (i64 ox = 0; ox < wo; ++ox)
        for (i64 ch = 0; ch < g.c; ++ch) {
          float best = -std::numeric_limits<float>::infinity();
          i64 arg = -1;
          for (i64 i = 0; i < g.kh; ++i) {
            const i64 y0 = oy * g.stride - g.pad + i;
            if (y0 < 0 || y0 >= g.h) continue;
            for (i64 j = 0; j < g.kw; ++j) {
              const i64 x0 = ox * g.stride - g.pad + j;
              if (x0 < 0 || x0 >= g.w) continue;
              const i64 at = (y0 * g.w + x0) * g.c + ch;
              const float v = xi[at];
              if (v > best || arg < 0 || std::isnan(v)) {
                best = v;
                arg = at;
              }
            }
          }
          const i64 o = (r * wo + ox) * g.c + ch;
          y[o] = best;
          argmax[o] = static_cast<std::int32_t>(arg);
        }
    }
  });
}
FASTPP_KERNEL void maxpool2d_backward(const float* dy, const std::int32_t* argmax, const PoolGeom& g, float* dx) {
  const i64 out_per_image = g.ho() * g.wo() * g.c, in_per_image = g.h * g.w * g.c;
  parallel_for(0, g.n, 1, [&](i64 b, i64 e) {
    for (i64 img = b; img < e; ++img) {
      float* d = dx + img * in_per_image;
      std::fill_n(d, in_per_image, 0.0f);
      for (i64 o = 0; o < out_per_image; ++o) {
        const i64 k = img * out_per_image + o;
        if (argmax[k] >= 0) d[argmax[k]] += dy[k];
      }
    }
  });
}

// Average over each window, padding included in the count (PyTorch's count_include_pad=True default).
// `backward` false: y = avgpool(x). `backward` true: dx = the adjoint applied to dy (x is dy, y is dx).
FASTPP_KERNEL void avgpool2d(const float* in, const PoolGeom& g, bool backward, float* out) {
  const i64 ho = g.ho(), wo = g.wo();
  const float inv = 1.0f / static_cast<float>(g.kh * g.kw);
  parallel_for(0, g.n, 1, [&](i64 b, i64 e) {
    for (i64 img = b; img < e; ++img) {
      if (backward) std::fill_n(out + img * g.h * g.w * g.c, g.h * g.w * g.c, 0.0f);
      for (i64 oy = 0; oy < ho; ++oy)
        for (i64 ox = 0; ox < wo; ++ox) {
          const i64 o = ((img * ho + oy) * wo + ox) * g.c;
          if (!backward) std::fill_n(out + o, g.c, 0.0f);
          for (i64 i = 0; i < g.kh; ++i) {
            const i64 y0 = oy * g.stride - g.pad + i;
            if (y0 < 0 || y0 >= g.h) continue;
            for (i64 j = 0; j < g.kw; ++j) {
              const i64 x0 = ox * g.stride - g.pad + j;
              if (x0 < 0 || x0 >= g.w) continue;
              const i64 at = ((img * g.h + y0) * g.w + x0) * g.c;
              for (i64 ch = 0; ch < g.c; ++ch) {
                if (backward) out[at + ch] += in[o + ch] * inv;
                else out[o + ch] += in[at + ch] * inv;
              }
            }
          }
        }
    }
  });
}

// PyTorch's adaptive pooling windows: [floor(i*in/out), ceil((i+1)*in/out)).
inline i64 adaptive_start(i64 i, i64 in, i64 out) { return (i * in) / out; }
inline i64 adaptive_end(i64 i, i64 in, i64 out) { return ((i + 1) * in + out - 1) / out; }

// Adaptive average (is_max false) or max pooling of x[n, h, w, c] to y[n, oh, ow, c] with y's channel
// stride `ystride` and offset `yoff`, so AdaptiveConcatPool2d can write both halves into one tensor.
FASTPP_KERNEL void adaptive_pool_forward(const float* x, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max,
                                  float* y, i64 ystride, i64 yoff, std::int32_t* argmax) {
  parallel_for(0, n * oh, 1, [&](i64 b, i64 e) {
    for (i64 r = b; r < e; ++r) {
      const i64 img = r / oh, oy = r % oh;
      const i64 y0 = adaptive_start(oy, h, oh), y1 = adaptive_end(oy, h, oh);
      for (i64 ox = 0; ox < ow; ++ox) {
        const i64 x0 = adaptive_start(ox, w, ow), x1 = adaptive_end(ox, w, ow);
        const i64 o = (r * ow + ox);
        for (i64 ch = 0; ch < c; ++ch) {
          double acc = 0;
          float best = -std::numeric_limits<float>::infinity();
          i64 arg = -1;
          for (i64 yy = y0; yy < y1; ++yy)
            for (i64 xx = x0; xx < x1; ++xx) {
              const i64 at = ((img * h + yy) * w + xx) * c + ch;
              if (is_max) {
                if (x[at] > best || arg < 0 || std::isnan(x[at])) {
                  best = x[at];
                  arg = at;
                }
              } else {
                acc += x[at];
              }
            }
          if (is_max) {
            y[o * ystride + yoff + ch] = best;
            argmax[o * c + ch] = static_cast<std::int32_t>(arg - img * h * w * c);
          } else {
            y[o * ystride + yoff + ch] = static_cast<float>(acc / static_cast<double>((y1 - y0) * (x1 - x0)));
          }
        }
      }
    }
  });
}
// Adds the adjoint of adaptive pooling into dx (which the caller zeroed).
FASTPP_KERNEL void adaptive_pool_backward(const float* dy, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max,
                                   i64 ystride, i64 yoff, const std::int32_t* argmax, float* dx) {
  parallel_for(0, n, 1, [&](i64 b, i64 e) {
    for (i64 img = b; img < e; ++img)
      for (i64 oy = 0; oy < oh; ++oy) {
        const i64 y0 = adaptive_start(oy, h, oh), y1 = adaptive_end(oy, h, oh);
        for (i64 ox = 0; ox < ow; ++ox) {
          const i64 x0 = adaptive_start(ox, w, ow), x1 = adaptive_end(ox, w, ow);
          const i64 o = (img * oh + oy) * ow + ox;
          const float inv = 1.0f / static_cast<float>((y1 - y0) * (x1 - x0));
          for (i64 ch = 0; ch < c; ++ch) {
            const float g = dy[o * ystride + yoff + ch];
            if (is_max) {
              dx[img * h * w * c + argmax[o * c + ch]] += g;
            } else {
              for (i64 yy = y0; yy < y1; ++yy)
                for (i64 xx = x0; xx < x1; ++xx) dx[((img * h + yy) * w + xx) * c + ch] += g * inv;
            }
          }
        }
      }
  });
}

// ---- layout ------------------------------------------------------------------------------------

// NHWC [n, h, w, c] -> PyTorch's flatten order [n, c*h*w] (c outermost), and back.
FASTPP_KERNEL void nhwc_to_nchw(const float* x, i64 n, i64 h, i64 w, i64 c, float* y) {
  for (i64 img = 0; img < n; ++img)
    for (i64 p = 0; p < h * w; ++p)
      for (i64 ch = 0; ch < c; ++ch) y[(img * c + ch) * h * w + p] = x[(img * h * w + p) * c + ch];
}
FASTPP_KERNEL void nchw_to_nhwc(const float* x, i64 n, i64 h, i64 w, i64 c, float* y) {
  for (i64 img = 0; img < n; ++img)
    for (i64 p = 0; p < h * w; ++p)
      for (i64 ch = 0; ch < c; ++ch) y[(img * h * w + p) * c + ch] = x[(img * c + ch) * h * w + p];
}

}  // namespace fastpp::nn::kernels
