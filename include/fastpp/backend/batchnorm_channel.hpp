#pragma once
// The per-channel and per-element arithmetic of batch normalisation, shared by the cpu kernel
// (cpu/detail/norm.hpp) and the CUDA one (src/cuda/norm.cu), so the cpu tests run the formulas the GPU
// uses. The reductions (a channel's sums over rows) are each device's own; what they feed is here.
// Nothing but core/host_device.hpp, <cmath> and <cstdint> is included: nvcc compiles it for the device.
#include <cmath>
#include <cstdint>

#include "../core/host_device.hpp"

namespace fastpp::backend {

// 1 / sqrt(var + eps) in double, rounded once to float: var is the batch's biased variance (training) or
// the running estimate (evaluation).
FASTPP_HD_INLINE float batchnorm_invstd(double var, float eps) {
  return static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
}

// PyTorch's running update from the batch's mean and biased variance over `rows` rows:
// running = (1 - momentum) * running + momentum * batch, the variance made unbiased (rows / (rows - 1)).
FASTPP_HD_INLINE void batchnorm_running_update(double mean, double var, std::int64_t rows, float momentum,
                                               float& running_mean, float& running_var) {
  const double unbias = static_cast<double>(rows) / static_cast<double>(rows - 1);
  running_mean = static_cast<float>((1.0 - momentum) * running_mean + momentum * mean);
  running_var = static_cast<float>((1.0 - momentum) * running_var + momentum * var * unbias);
}

// xhat = (x - mean) * invstd, and y = xhat * gamma + beta.
FASTPP_HD_ALWAYS_INLINE float batchnorm_xhat(float x, float mean, float invstd) { return (x - mean) * invstd; }
FASTPP_HD_ALWAYS_INLINE float batchnorm_affine(float xhat, float gamma, float beta) { return xhat * gamma + beta; }

// The backward's per-channel coefficients, from the channel's sums over M rows, sum dy and sum dy*xhat:
// dx = a * (dy - mb - xhat * mh) with a = gamma * invstd, mb = sum / M, mh = sumh / M; with frozen
// statistics (evaluation mode) the mean and variance are constants and mb = mh = 0: dx = dy * gamma * invstd.
struct BatchNormGradCoeffs {
  float a, mb, mh;
};
FASTPP_HD_INLINE BatchNormGradCoeffs batchnorm_grad_coeffs(double sum, double sumh, std::int64_t rows, float gamma,
                                                           float invstd, bool frozen_stats) {
  return {gamma * invstd, frozen_stats ? 0.0f : static_cast<float>(sum / static_cast<double>(rows)),
          frozen_stats ? 0.0f : static_cast<float>(sumh / static_cast<double>(rows))};
}
FASTPP_HD_ALWAYS_INLINE float batchnorm_dx(float a, float dy, float mb, float xhat, float mh) {
  return a * (dy - mb - xhat * mh);
}

}  // namespace fastpp::backend
