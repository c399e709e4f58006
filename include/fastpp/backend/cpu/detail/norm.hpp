#pragma once
// Batch normalisation over rows of C channels (NHWC: rows = N*H*W; BatchNorm1d: rows = N).
// Internal to the cpu backend: include fastpp/backend/cpu/layer_kernels.hpp instead.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../../../core/thread_pool.hpp"
#include "../../batchnorm_channel.hpp"
#include "../../geometry.hpp"
#include "kernel.hpp"
#include "layer_isa.hpp"

namespace fastpp::backend::cpu_detail {

// The per-element loops of this file, each run in an AVX2 build or the baseline one, whichever the CPU
// allows (layer_isa.hpp); vectorised across the channels j, so each channel's sums keep their order.
// p[j] += x[r, j] over rows [r0, r1), in double.
[[gnu::always_inline]] inline void channel_sum_rows(const float* x, i64 r0, i64 r1, i64 c, double* p) {
  for (i64 r = r0; r < r1; ++r)
    for (i64 j = 0; j < c; ++j) p[j] += static_cast<double>(x[r * c + j]);
}
// p[j] += (x[r, j] - mean[j])^2 over rows [r0, r1), in double.
[[gnu::always_inline]] inline void channel_sqdev_rows(const float* x, i64 r0, i64 r1, i64 c, const double* mean,
                                                      double* p) {
  for (i64 r = r0; r < r1; ++r)
    for (i64 j = 0; j < c; ++j) {
      const double d = x[r * c + j] - mean[j];
      p[j] += d * d;
    }
}
// y = (x - mean) * invstd * gamma + beta over rows [b, e), and xhat = (x - mean) * invstd with WithXhat.
// y may be x; __restrict says that nothing else overlaps, without which the loop with two stores stayed
// scalar (too many overlaps for the compilers to test at run time).
template <bool WithXhat>
[[gnu::always_inline]] inline void channel_affine_rows(const float* x, i64 b, i64 e, i64 c,
                                                       const float* __restrict mean, const float* __restrict invstd,
                                                       const float* __restrict gamma, const float* __restrict beta,
                                                       float* y, float* __restrict xhat) {
  for (i64 r = b; r < e; ++r)
    for (i64 j = 0; j < c; ++j) {
      const float h = batchnorm_xhat(x[r * c + j], mean[j], invstd[j]);
      if constexpr (WithXhat) xhat[r * c + j] = h;
      y[r * c + j] = batchnorm_affine(h, gamma[j], beta[j]);
    }
}
// s[j] += dy[r, j] and sh[j] += dy[r, j] * xhat[r, j] over rows [r0, r1), in double.
[[gnu::always_inline]] inline void grad_sums_rows(const float* dy, const float* xhat, i64 r0, i64 r1, i64 c,
                                                  double* s, double* sh) {
  for (i64 r = r0; r < r1; ++r)
    for (i64 j = 0; j < c; ++j) {
      s[j] += dy[r * c + j];
      sh[j] += static_cast<double>(dy[r * c + j]) * xhat[r * c + j];
    }
}
// dx = a * (dy - mb - xhat * mh) per channel over rows [b, e).
[[gnu::always_inline]] inline void batchnorm_dx_rows(const float* xhat, const float* dy, i64 b, i64 e, i64 c,
                                                     const float* a, const float* mb, const float* mh, float* dx) {
  for (i64 r = b; r < e; ++r)
    for (i64 j = 0; j < c; ++j) dx[r * c + j] = batchnorm_dx(a[j], dy[r * c + j], mb[j], xhat[r * c + j], mh[j]);
}

// Per-channel mean and biased variance of x[rows, C], in double, two passes, fixed chunking.
FASTPP_KERNEL void channel_mean_var(const float* x, i64 rows, i64 c, std::vector<double>& mean, std::vector<double>& var) {
  constexpr i64 chunk = 1024;
  const i64 chunks = (rows + chunk - 1) / chunk;
  std::vector<double> part(static_cast<std::size_t>(chunks * c));
  mean.assign(static_cast<std::size_t>(c), 0.0);
  var.assign(static_cast<std::size_t>(c), 0.0);
  // Sums each chunk of rows into its own row of `part`, then the chunks in order into `out`.
  auto reduce = [&](const double* centre, std::vector<double>& out) {
    std::fill(part.begin(), part.end(), 0.0);
    parallel_for(0, chunks, 1, [&](i64 b, i64 e) {
      for (i64 k = b; k < e; ++k) {
        const i64 r0 = k * chunk, r1 = std::min(rows, (k + 1) * chunk);
        if (centre) layer_loop<channel_sqdev_rows>(x, r0, r1, c, centre, part.data() + k * c);
        else layer_loop<channel_sum_rows>(x, r0, r1, c, part.data() + k * c);
      }
    });
    for (i64 k = 0; k < chunks; ++k)
      for (i64 j = 0; j < c; ++j) out[static_cast<std::size_t>(j)] += part[static_cast<std::size_t>(k * c + j)];
  };
  reduce(nullptr, mean);
  for (auto& m : mean) m /= static_cast<double>(rows);
  reduce(mean.data(), var);
  for (auto& v : var) v /= static_cast<double>(rows);
}

// y = (x - mean) * scale + shift per channel, and xhat = (x - mean) * invstd when xhat is not null.
FASTPP_KERNEL void channel_affine(const float* x, i64 rows, i64 c, const float* mean, const float* invstd,
                           const float* gamma, const float* beta, float* y, float* xhat) {
  parallel_for(0, rows, 256, [&](i64 b, i64 e) {
    if (xhat) layer_loop<channel_affine_rows<true>>(x, b, e, c, mean, invstd, gamma, beta, y, xhat);
    else layer_loop<channel_affine_rows<false>>(x, b, e, c, mean, invstd, gamma, beta, y, xhat);
  });
}

// The whole forward of batch normalisation over x[rows, c]: with `training`, normalises with the
// batch's mean and biased variance and moves the running estimates toward them (PyTorch's rule:
// running = (1 - momentum) * running + momentum * batch, with the unbiased variance); otherwise
// normalises with the running estimates. Writes y, invstd[c], and xhat when it is not null.
FASTPP_KERNEL void batchnorm_forward(const float* x, i64 rows, i64 c, bool training, float momentum, float eps,
                                     const float* gamma, const float* beta, float* running_mean, float* running_var,
                                     float* y, float* xhat, float* invstd) {
  std::vector<float> mean(static_cast<std::size_t>(c));
  if (training) {
    std::vector<double> bmean, bvar;
    channel_mean_var(x, rows, c, bmean, bvar);
    for (i64 j = 0; j < c; ++j) {
      const auto u = static_cast<std::size_t>(j);
      mean[u] = static_cast<float>(bmean[u]);
      invstd[j] = batchnorm_invstd(bvar[u], eps);
      batchnorm_running_update(bmean[u], bvar[u], rows, momentum, running_mean[j], running_var[j]);
    }
  } else {
    for (i64 j = 0; j < c; ++j) {
      mean[static_cast<std::size_t>(j)] = running_mean[j];
      invstd[j] = batchnorm_invstd(static_cast<double>(running_var[j]), eps);
    }
  }
  channel_affine(x, rows, c, mean.data(), invstd, gamma, beta, y, xhat);
}

// Two per-channel sums over the rows of a [rows, c] array, in double, into sums[0, c) and sums[c, 2c):
// rows_sums(r0, r1, p, q) adds rows [r0, r1)'s into p[c] and q[c]. Fixed chunks of 1024 rows, added in
// order, so the result is the same bits for any thread count (batch norm's backward, and the synchronised
// kernels of norm_sync.hpp).
template <class RowsSums>
void chunked_channel_sums(i64 rows, i64 c, double* sums, RowsSums&& rows_sums) {
  constexpr i64 chunk = 1024;
  const i64 chunks = (rows + chunk - 1) / chunk;
  std::vector<double> part(static_cast<std::size_t>(chunks * 2 * c), 0.0);
  parallel_for(0, chunks, 1, [&](i64 b, i64 e) {
    for (i64 k = b; k < e; ++k) {
      double* p = part.data() + k * 2 * c;
      rows_sums(k * chunk, std::min(rows, (k + 1) * chunk), p, p + c);
    }
  });
  std::fill(sums, sums + 2 * c, 0.0);
  for (i64 k = 0; k < chunks; ++k)
    for (i64 j = 0; j < 2 * c; ++j) sums[j] += part[static_cast<std::size_t>(k * 2 * c + j)];
}

// Backward of batch-statistics normalisation: given xhat and dy, adds dgamma and dbeta (when not null)
// and writes dx = gamma*invstd/M * (M dy - sum dy - xhat sum(dy xhat)). With `frozen_stats` (eval mode)
// the statistics are constants: dx = dy * gamma * invstd.
FASTPP_KERNEL void batchnorm_backward(const float* xhat, const float* dy, i64 rows, i64 c, const float* gamma,
                               const float* invstd, bool frozen_stats, float* dgamma, float* dbeta, float* dx) {
  std::vector<double> sums(static_cast<std::size_t>(2 * c));  // [0, c): sum dy, [c, 2c): sum dy * xhat
  chunked_channel_sums(rows, c, sums.data(), [&](i64 r0, i64 r1, double* s, double* sh) {
    layer_loop<grad_sums_rows>(dy, xhat, r0, r1, c, s, sh);
  });
  const double* sum = sums.data();
  const double* sumh = sums.data() + c;
  for (i64 j = 0; j < c; ++j) {
    if (dgamma) dgamma[j] += static_cast<float>(sumh[j]);
    if (dbeta) dbeta[j] += static_cast<float>(sum[j]);
  }
  if (!dx) return;
  std::vector<float> a(static_cast<std::size_t>(c)), mb(static_cast<std::size_t>(c)), mh(static_cast<std::size_t>(c));
  for (i64 j = 0; j < c; ++j) {
    const auto u = static_cast<std::size_t>(j);
    const BatchNormGradCoeffs k = batchnorm_grad_coeffs(sum[j], sumh[j], rows, gamma[j], invstd[j], frozen_stats);
    a[u] = k.a;
    mb[u] = k.mb;
    mh[u] = k.mh;
  }
  parallel_for(0, rows, 256, [&](i64 b, i64 e) {
    layer_loop<batchnorm_dx_rows>(xhat, dy, b, e, c, a.data(), mb.data(), mh.data(), dx);
  });
}

}  // namespace fastpp::backend::cpu_detail
