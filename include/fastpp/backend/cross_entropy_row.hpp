#pragma once
// The per-row arithmetic of the softmax cross-entropy with label smoothing, shared by the cpu kernel
// (cpu/loss_kernels.hpp) and the CUDA kernel (src/cuda/cross_entropy.cu), so the cpu tests run the formulas
// the GPU uses. Nothing but core/host_device.hpp is included: nvcc compiles it for the device.
//
// Row i with target t, weight w (0 when ignored), d_j = x_j - max, s = sum_j exp(d_j), C classes:
//   loss_i = eps / C * (C log s - sum_j d_j) + (1 - eps) * w (log s - d_t)
// the two terms reduced apart as sum / smooth_divisor and sum / nll_divisor (1 for a sum; for the mean the
// row count and the total weight). For the upstream gradient g_i, s_nll = w g_i / nll_divisor and
// s_smooth = g_i / smooth_divisor: dx_j = ((1 - eps) s_nll + eps s_smooth) exp(d_j) / s - eps / C s_smooth
// - (1 - eps) s_nll [j == t].
// The row sums (s, sum_j d_j) come in the row's type A, as each device accumulates them; the few
// operations per row here are in double, so rounding in them adds nothing to the sums' own.

#include "../core/host_device.hpp"

namespace fastpp::backend {

// A row's two loss terms before reduction: w (log s - d_t), and C log s - sum_j d_j (0 without smoothing).
struct CrossEntropyTerms {
  double nll, smooth;
};

// log_s = log s and d_t = x_t - max in A, as the row's kernel formed them (the difference is taken in A).
template <class A>
FASTPP_HD_INLINE CrossEntropyTerms cross_entropy_terms(A log_s, A d_t, A sum_shifted, double w, bool counted,
                                                       bool smoothing, double classes) {
  return {counted ? w * static_cast<double>(log_s - d_t) : 0.0,
          smoothing ? classes * static_cast<double>(log_s) - static_cast<double>(sum_shifted) : 0.0};
}

// The loss of one row (reduction "none"), or of the reduced sums of the terms divided by their divisors.
FASTPP_HD_INLINE double cross_entropy_loss(double nll, double smooth, double eps, double classes) {
  return eps / classes * smooth + (1.0 - eps) * nll;
}

// dx_j = scale * exp(d_j) + offset for every j, then at the target cross_entropy_at_target, where the row
// counts.
struct CrossEntropyGrad {
  double scale, offset, s_nll, keep;  // keep = 1 - eps
};

FASTPP_HD_INLINE CrossEntropyGrad cross_entropy_grad(double g, double w, double eps, double classes,
                                                     double nll_divisor, double smooth_divisor, double sum_exp) {
  const double s_nll = w == 0.0 ? 0.0 : w * g / nll_divisor;  // an ignored row adds nothing, even for 0/0
  const double s_smooth = g / smooth_divisor;
  return {((1.0 - eps) * s_nll + eps * s_smooth) / sum_exp, -eps / classes * s_smooth, s_nll, 1.0 - eps};
}

// The target's dx, from its value after the affine step: dx_t - (1 - eps) s_nll, in one expression, as the
// cpu kernel had it before this header: a compiler may fuse the product into the subtraction for double rows,
// and the cpu's results keep their bits.
template <class A>
FASTPP_HD_INLINE A cross_entropy_at_target(A dx_t, const CrossEntropyGrad& gr) {
  return static_cast<A>(dx_t - static_cast<A>(gr.keep * gr.s_nll));
}

}  // namespace fastpp::backend
