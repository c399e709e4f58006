#pragma once
// The cpu's optimizer kernels: fastpp::backend::optim_kernels<cpu>, what learner/optimizer.hpp calls for
// every arithmetic step on parameters, gradients and optimizer state. One pass per parameter over float
// arrays, written as plain loops that the compiler vectorises for the build's instruction set, except Adam,
// whose square root needs AVX intrinsics, compiled for AVX2 and picked at run time (see adam_range).
// The hyperparameters arrive as doubles (fastai's Python floats) and are combined and rounded to float
// before the loop, as PyTorch rounds a Python scalar to the tensor's dtype.
//
// Each call runs on the calling thread, so the results are the same bits whatever fastpp's thread count.
// Splitting a parameter over the pool was measured to gain nothing on the project's 2-vCPU machine (Adam
// over 2.36M floats, ResNet-34's largest parameter: 1.45 ms on one thread, 2.6-3.2 ms on two with other
// work on the second core; over 262k floats 0.108 against 0.092-0.099 ms).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "../../core/device.hpp"
#include "../../core/half.hpp"
#include "../../core/thread_pool.hpp"
#include "../kernels.hpp"
#include "../optim_math.hpp"
#include "detail/kernel.hpp"
#include "detail/layer_isa.hpp"

namespace fastpp::backend {

namespace cpu_detail {

// The per-element expressions (and AdamConsts, SgdConsts) are in backend/optim_math.hpp, shared with the
// CUDA kernels; the cpu evaluates them with plain operators.
struct HostOps {
  [[gnu::always_inline]] static float mul(float a, float b) { return a * b; }
  [[gnu::always_inline]] static float add(float a, float b) { return a + b; }
  [[gnu::always_inline]] static float sub(float a, float b) { return a - b; }
  [[gnu::always_inline]] static float div(float a, float b) { return a / b; }
  [[gnu::always_inline]] static float sqrt(float a) { return std::sqrt(a); }
};
using fastpp::backend::AdamConsts;
using fastpp::backend::SgdConsts;

// Adam over elements [i, n), one at a time.
[[gnu::always_inline]] inline void adam_scalar(float* p, const float* g, float* grad_avg, float* sqr_avg, i64 i, i64 n,
                                               const AdamConsts& c) {
  for (; i < n; ++i) {
    const AdamElement e = adam_element<HostOps>(p[i], g[i], grad_avg[i], sqr_avg[i], c);
    grad_avg[i] = e.grad_avg;
    sqr_avg[i] = e.sqr_avg;
    p[i] = e.p;
  }
}

#if defined(FASTPP_LAYER_AVX2)
// adam_scalar's expressions on eight elements at a time (vsqrtps), then adam_scalar for the rest. Built
// for AVX2 without FMA (layer_isa.hpp), so in a build for plain x86-64 each element gets the same bits as
// from adam_scalar; where the build's flags allow FMA the compiler fuses the two differently (last bits).
[[gnu::noinline]] FASTPP_LAYER_AVX2_FN inline void adam_avx2(float* p, const float* g, float* grad_avg, float* sqr_avg,
                                                             i64 n, const AdamConsts& c) {
  i64 i = 0;
  const __m256 keep = _mm256_set1_ps(c.keep), l2 = _mm256_set1_ps(c.l2), m1 = _mm256_set1_ps(c.m1),
               d1 = _mm256_set1_ps(c.d1), m2 = _mm256_set1_ps(c.m2), d2 = _mm256_set1_ps(c.d2),
               step = _mm256_set1_ps(c.step), db2 = _mm256_set1_ps(c.db2), eps = _mm256_set1_ps(c.eps);
  for (; i + 8 <= n; i += 8) {
    const __m256 pi = _mm256_loadu_ps(p + i);
    const __m256 gi = _mm256_add_ps(_mm256_loadu_ps(g + i), _mm256_mul_ps(l2, pi));
    const __m256 ga = _mm256_add_ps(_mm256_mul_ps(m1, _mm256_loadu_ps(grad_avg + i)), _mm256_mul_ps(d1, gi));
    const __m256 sa =
        _mm256_add_ps(_mm256_mul_ps(m2, _mm256_loadu_ps(sqr_avg + i)), _mm256_mul_ps(d2, _mm256_mul_ps(gi, gi)));
    _mm256_storeu_ps(grad_avg + i, ga);
    _mm256_storeu_ps(sqr_avg + i, sa);
    const __m256 den = _mm256_add_ps(_mm256_sqrt_ps(_mm256_div_ps(sa, db2)), eps);
    _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_mul_ps(pi, keep), _mm256_mul_ps(step, _mm256_div_ps(ga, den))));
  }
  adam_scalar(p, g, grad_avg, sqr_avg, i, n, c);
}
#endif

// Adam over n elements. std::sqrt may set errno, so under g++'s and clang's default -fmath-errno a loop
// calling it stays scalar (measured: 3.3 ns per element, compute-bound even for parameters in cache); where
// the CPU has AVX2 (layer_use_avx2()), adam_avx2 takes eight elements at a time, whatever the build's flags.
inline void adam_range(float* p, const float* g, float* grad_avg, float* sqr_avg, i64 n, const AdamConsts& c) {
#if defined(FASTPP_LAYER_AVX2)
  if (layer_use_avx2()) return adam_avx2(p, g, grad_avg, sqr_avg, n, c);
#endif
  adam_scalar(p, g, grad_avg, sqr_avg, 0, n, c);
}

// fastai's Adam (optimizer.py: weight_decay or l2_reg, average_grad(dampening=True), average_sqr_grad,
// step_stat, adam_step) for one parameter: with decouple_wd p *= 1 - lr*wd, else g += wd*p (on a copy:
// the gradient buffer is left as it was); then
//   grad_avg = mom*grad_avg + (1-mom)*g,  sqr_avg = sqr_mom*sqr_avg + (1-sqr_mom)*g^2,
//   p -= lr/debias1 * grad_avg / (sqrt(sqr_avg/debias2) + eps)
// with debias1 = 1 - mom^step and debias2 = 1 - sqr_mom^step computed by the caller.
FASTPP_KERNEL void adam_step(float* p, const float* g, float* grad_avg, float* sqr_avg, i64 n, double lr, double mom,
                             double sqr_mom, double eps, double wd, bool decouple_wd, double debias1, double debias2) {
  const AdamConsts c(lr, mom, sqr_mom, eps, wd, decouple_wd, debias1, debias2);
  adam_range(p, g, grad_avg, sqr_avg, n, c);
}

// fastai's SGD: weight_decay or l2_reg, then with momentum (grad_avg not null) average_grad without
// dampening, grad_avg = mom*grad_avg + g, and p -= lr*grad_avg; without it p -= lr*g. The loops run in an
// AVX2 build or the baseline one, whichever the CPU allows (detail/layer_isa.hpp).
[[gnu::always_inline]] inline void sgd_momentum_loop(float* p, const float* g, float* grad_avg, i64 n,
                                                     SgdConsts c) {
  for (i64 i = 0; i < n; ++i) {
    const SgdElement e = sgd_momentum_element<HostOps>(p[i], g[i], grad_avg[i], c);
    grad_avg[i] = e.grad_avg;
    p[i] = e.p;
  }
}
[[gnu::always_inline]] inline void sgd_plain_loop(float* p, const float* g, i64 n, SgdConsts c) {
  for (i64 i = 0; i < n; ++i) p[i] = sgd_plain_element<HostOps>(p[i], g[i], c);
}
inline void sgd_range(float* p, const float* g, float* grad_avg, i64 n, SgdConsts c) {
  if (grad_avg) layer_loop<sgd_momentum_loop>(p, g, grad_avg, n, c);
  else layer_loop<sgd_plain_loop>(p, g, n, c);
}
FASTPP_KERNEL void sgd_step(float* p, const float* g, float* grad_avg, i64 n, double lr, double mom, double wd,
                            bool decouple_wd) {
  sgd_range(p, g, grad_avg, n, SgdConsts(lr, mom, wd, decouple_wd));
}

// g *= inv_scale in place; false if any scaled value is inf or NaN (the loss scaler then skips the step).
// The result is checked rather than the input, so what the optimizer would read is what is vouched for.
FASTPP_KERNEL bool unscale_and_check_finite(float* g, i64 n, float inv_scale) {
  int bad = 0;  // an int OR-reduction vectorises; |v| <= FLT_MAX is false for inf and NaN alike
  for (i64 i = 0; i < n; ++i) {
    const float v = g[i] * inv_scale;
    g[i] = v;
    bad |= !finite_value(v);
  }
  return bad == 0;
}

// dst[i] = src[i] rounded to the nearest half (core/half.hpp: ties to even, overflow to inf, NaN kept), as a
// float: mixed precision's half weights and activations (learner/mixed_precision.hpp). dst may be src.
FASTPP_KERNEL void round_to_half(const float* src, i64 n, float* dst) {
  parallel_for(0, n, i64{1} << 15, [src, dst](i64 b, i64 e) {
    for (i64 i = b; i < e; ++i) dst[i] = fastpp::detail::half_bits_to_float(fastpp::detail::float_to_half_bits(src[i]));
  });
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
  // (src, n, dst): dst = half(src) as floats; dst may be src
  static constexpr auto round_to_half = &cpu_detail::round_to_half;
};

}  // namespace fastpp::backend
