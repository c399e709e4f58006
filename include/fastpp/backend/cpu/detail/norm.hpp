#pragma once
// Batch normalisation over rows of C channels (NHWC: rows = N*H*W; BatchNorm1d: rows = N).
// Internal to the cpu backend: include fastpp/backend/cpu/layer_kernels.hpp instead.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../../../core/thread_pool.hpp"
#include "../../geometry.hpp"
#include "kernel.hpp"

namespace fastpp::backend::cpu_detail {

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
    const double unbias = static_cast<double>(rows) / static_cast<double>(rows - 1);
    for (i64 j = 0; j < c; ++j) {
      const auto u = static_cast<std::size_t>(j);
      mean[u] = static_cast<float>(bmean[u]);
      invstd[j] = static_cast<float>(1.0 / std::sqrt(bvar[u] + eps));
      running_mean[j] = static_cast<float>((1.0 - momentum) * running_mean[j] + momentum * bmean[u]);
      running_var[j] = static_cast<float>((1.0 - momentum) * running_var[j] + momentum * bvar[u] * unbias);
    }
  } else {
    for (i64 j = 0; j < c; ++j) {
      mean[static_cast<std::size_t>(j)] = running_mean[j];
      invstd[j] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(running_var[j]) + eps));
    }
  }
  channel_affine(x, rows, c, mean.data(), invstd, gamma, beta, y, xhat);
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

}  // namespace fastpp::backend::cpu_detail
