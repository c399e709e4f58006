#pragma once
// The cpu's optimizer kernels: fastpp::backend::optim_kernels<cpu>, what learner/optimizer.hpp calls for
// every arithmetic step on parameters, gradients and optimizer state. One pass per parameter over float
// arrays, written as plain loops that the compiler vectorises (-march=x86-64-v3: AVX2, FMA, vsqrtps).
// The hyperparameters arrive as doubles (fastai's Python floats) and are combined and rounded to float
// before the loop, as PyTorch rounds a Python scalar to the tensor's dtype.
//
// Every element is computed on its own, so splitting a large parameter over the compute pool gives the
// same bits for any thread count; parameters smaller than one chunk run on the calling thread.
#include <algorithm>
#include <atomic>
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "../../core/device.hpp"
#include "../../core/thread_pool.hpp"
#include "../kernels.hpp"
#include "detail/kernel.hpp"

namespace fastpp::backend {

namespace cpu_detail {

// Elements per chunk: Adam touches 7 floats per element (28 bytes), so 64Ki elements are ~1.8 MiB of
// traffic, enough to pay for waking a second thread.
inline constexpr i64 optim_grain = i64{1} << 16;

// fastai's Adam (optimizer.py: weight_decay or l2_reg, average_grad(dampening=True), average_sqr_grad,
// step_stat, adam_step) for one parameter: with decouple_wd p *= 1 - lr*wd, else g += wd*p (on a copy:
// the gradient buffer is left as it was); then
//   grad_avg = mom*grad_avg + (1-mom)*g,  sqr_avg = sqr_mom*sqr_avg + (1-sqr_mom)*g^2,
//   p -= lr/debias1 * grad_avg / (sqrt(sqr_avg/debias2) + eps)
// with debias1 = 1 - mom^step and debias2 = 1 - sqr_mom^step computed by the caller.
FASTPP_KERNEL void adam_step(float* p, const float* g, float* grad_avg, float* sqr_avg, i64 n, double lr, double mom,
                             double sqr_mom, double eps, double wd, bool decouple_wd, double debias1, double debias2) {
  // Scalars are combined in double and rounded to float once, as PyTorch rounds fastai's Python scalars:
  // 1 - sqr_mom from a float sqr_mom would be 1e-6 off (1 - 0.99f = 0.00999999).
  const auto keep = static_cast<float>(decouple_wd ? 1 - lr * wd : 1.0);  // wd == 0 keeps p exactly
  const auto l2 = static_cast<float>(decouple_wd ? 0.0 : wd);
  const auto m1 = static_cast<float>(mom), d1 = static_cast<float>(1 - mom);
  const auto m2 = static_cast<float>(sqr_mom), d2 = static_cast<float>(1 - sqr_mom);
  const auto step = static_cast<float>(lr / debias1), db2 = static_cast<float>(debias2);
  const auto e32 = static_cast<float>(eps);
  parallel_for(0, n, optim_grain, [&](i64 b, i64 e) {
    for (i64 i = b; i < e; ++i) {
      const float pi = p[i];
      const float gi = g[i] + l2 * pi;
      const float ga = m1 * grad_avg[i] + d1 * gi;
      const float sa = m2 * sqr_avg[i] + d2 * (gi * gi);
      grad_avg[i] = ga;
      sqr_avg[i] = sa;
      p[i] = pi * keep - step * (ga / (std::sqrt(sa / db2) + e32));
    }
  });
}

// fastai's SGD: weight_decay or l2_reg, then with momentum (grad_avg not null) average_grad without
// dampening, grad_avg = mom*grad_avg + g, and p -= lr*grad_avg; without it p -= lr*g.
FASTPP_KERNEL void sgd_step(float* p, const float* g, float* grad_avg, i64 n, double lr, double mom, double wd,
                            bool decouple_wd) {
  const auto keep = static_cast<float>(decouple_wd ? 1 - lr * wd : 1.0);
  const auto l2 = static_cast<float>(decouple_wd ? 0.0 : wd);
  const auto m = static_cast<float>(mom), lr32 = static_cast<float>(lr);
  parallel_for(0, n, optim_grain, [&](i64 b, i64 e) {
    if (grad_avg) {
      for (i64 i = b; i < e; ++i) {
        const float pi = p[i];
        const float ga = m * grad_avg[i] + (g[i] + l2 * pi);
        grad_avg[i] = ga;
        p[i] = pi * keep - lr32 * ga;
      }
    } else {
      for (i64 i = b; i < e; ++i) {
        const float pi = p[i];
        p[i] = pi * keep - lr32 * (g[i] + l2 * pi);
      }
    }
  });
}

// g *= inv_scale in place; false if any scaled value is inf or NaN (the loss scaler then skips the step).
// The result is checked rather than the input, so what the optimizer would read is what is vouched for.
FASTPP_KERNEL bool unscale_and_check_finite(float* g, i64 n, float inv_scale) {
  std::atomic<bool> all_finite{true};
  parallel_for(0, n, optim_grain, [&](i64 b, i64 e) {
    int bad = 0;  // an int OR-reduction vectorises; |v| <= FLT_MAX is false for inf and NaN alike
    for (i64 i = b; i < e; ++i) {
      const float v = g[i] * inv_scale;
      g[i] = v;
      bad |= !(std::fabs(v) <= FLT_MAX);
    }
    if (bad) all_finite.store(false, std::memory_order_relaxed);
  });
  return all_finite.load(std::memory_order_relaxed);
}

// Optimizer state starts at zero (fastai's torch.zeros_like) and clear_state() returns it there.
FASTPP_KERNEL void zero(float* p, i64 n) { std::fill(p, p + n, 0.0f); }

}  // namespace cpu_detail

template <>
struct optim_kernels<fastpp::cpu> {
  // (p, g, grad_avg, sqr_avg, n, lr, mom, sqr_mom, eps, wd, decouple_wd, debias1, debias2)
  static constexpr auto adam_step = &cpu_detail::adam_step;
  // (p, g, grad_avg or null, n, lr, mom, wd, decouple_wd)
  static constexpr auto sgd_step = &cpu_detail::sgd_step;
  // (g, n, inv_scale) -> all finite
  static constexpr auto unscale_and_check_finite = &cpu_detail::unscale_and_check_finite;
  // (p, n)
  static constexpr auto zero = &cpu_detail::zero;
};

}  // namespace fastpp::backend
