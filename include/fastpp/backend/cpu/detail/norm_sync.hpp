#pragma once
// Synchronised batch normalisation (PyTorch's SyncBatchNorm) over rows of C channels: the kernels around
// the two sums over processes that a data-parallel run makes (nn/norm.hpp calls them through the
// ProcessSum of nn::Ctx). Forward: local per-channel sums of x and x*x and the row count, summed over the
// processes, then normalised with the global mean and biased variance, the running estimates moved toward
// the global ones (unbiased over the global count). Backward: dgamma and dbeta from the local sums of dy*xhat
// and dy (their average over processes is the data-parallel gradient), and dx from the global sums.
// Internal to the cpu backend: include fastpp/backend/cpu/layer_kernels.hpp instead.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../../../core/thread_pool.hpp"
#include "kernel.hpp"
#include "layer_isa.hpp"
#include "norm.hpp"

namespace fastpp::backend::cpu_detail {

// p[j] += x[r, j] and q[j] += x[r, j]^2 over rows [r0, r1), in double (a float's square is exact in double).
[[gnu::always_inline]] inline void channel_sum_sq_rows(const float* x, i64 r0, i64 r1, i64 c, double* p, double* q) {
  for (i64 r = r0; r < r1; ++r)
    for (i64 j = 0; j < c; ++j) {
      const double v = x[r * c + j];
      p[j] += v;
      q[j] += v * v;
    }
}

// sums[0, c): sum of x per channel, sums[c, 2c): sum of x^2, sums[2c]: rows; fixed chunking, chunks added in
// order (the same bits for any thread count).
FASTPP_KERNEL void batchnorm_sync_sums(const float* x, i64 rows, i64 c, double* sums) {
  chunked_channel_sums(rows, c, sums, [&](i64 r0, i64 r1, double* p, double* q) {
    layer_loop<channel_sum_sq_rows>(x, r0, r1, c, p, q);
  });
  sums[2 * c] = static_cast<double>(rows);
}

// Training forward from the global sums (batchnorm_sync_sums' layout, added over the processes): normalises
// x[rows, c] with the global mean and biased variance, moves the running estimates (PyTorch's rule, the
// unbiased variance over the global count). Writes y, invstd[c], and xhat when it is not null.
FASTPP_KERNEL void batchnorm_sync_forward(const float* x, i64 rows, i64 c, const double* sums, float momentum, float eps,
                                          const float* gamma, const float* beta, float* running_mean,
                                          float* running_var, float* y, float* xhat, float* invstd) {
  const double n = sums[2 * c];
  std::vector<float> mean(static_cast<std::size_t>(c));
  for (i64 j = 0; j < c; ++j) {
    const double m = sums[j] / n;
    const double var = std::max(0.0, sums[c + j] / n - m * m);
    mean[static_cast<std::size_t>(j)] = static_cast<float>(m);
    invstd[j] = batchnorm_invstd(var, eps);
    batchnorm_running_update(m, var, static_cast<i64>(n), momentum, running_mean[j], running_var[j]);
  }
  channel_affine(x, rows, c, mean.data(), invstd, gamma, beta, y, xhat);
}

// sums[0, c): sum of dy per channel, sums[c, 2c): sum of dy * xhat, over the local rows; adds them to
// dbeta and dgamma (when not null): the local gradient, which the gradient all-reduce averages.
FASTPP_KERNEL void batchnorm_sync_grad_sums(const float* xhat, const float* dy, i64 rows, i64 c, double* sums,
                                            float* dgamma, float* dbeta) {
  chunked_channel_sums(rows, c, sums, [&](i64 r0, i64 r1, double* s, double* sh) {
    layer_loop<grad_sums_rows>(dy, xhat, r0, r1, c, s, sh);
  });
  for (i64 j = 0; j < c; ++j) {
    if (dgamma) dgamma[j] += static_cast<float>(sums[c + j]);
    if (dbeta) dbeta[j] += static_cast<float>(sums[j]);
  }
}

// dx = gamma*invstd * (dy - sum dy / n - xhat * sum(dy xhat) / n) with the sums over every process (global
// n rows): the gradient of the statistics that every process's rows shared. dx may be dy.
FASTPP_KERNEL void batchnorm_sync_backward_dx(const float* xhat, const float* dy, i64 rows, i64 c, const float* gamma,
                                              const float* invstd, const double* sums, double n, float* dx) {
  std::vector<float> a(static_cast<std::size_t>(c)), mb(static_cast<std::size_t>(c)), mh(static_cast<std::size_t>(c));
  for (i64 j = 0; j < c; ++j) {
    const auto u = static_cast<std::size_t>(j);
    const BatchNormGradCoeffs k =
        batchnorm_grad_coeffs(sums[j], sums[c + j], static_cast<i64>(n), gamma[j], invstd[j], false);
    a[u] = k.a;
    mb[u] = k.mb;
    mh[u] = k.mh;
  }
  parallel_for(0, rows, 256, [&](i64 b, i64 e) {
    layer_loop<batchnorm_dx_rows>(xhat, dy, b, e, c, a.data(), mb.data(), mh.data(), dx);
  });
}

}  // namespace fastpp::backend::cpu_detail
