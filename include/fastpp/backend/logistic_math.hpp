#pragma once
// The per-element arithmetic of the sigmoid and of the binary cross-entropy on logits, shared by the cpu
// kernels (cpu/loss_kernels.hpp) and the CUDA kernels (src/cuda/loss.cu), so the cpu tests run the formulas
// the GPU runs. Nothing but core/host_device.hpp is included: nvcc compiles it for the device.
//
// The two transcendental functions come from a Math policy, each device's own:
//   Math::exp_nonpos(x)  exp(x) for x <= 0 (the cpu: its polynomial, detail/exp.hpp; the GPU: expf)
//   Math::log1p(x)       log(1 + x)         (the cpu: std::log1p; the GPU: log1pf)
#include "../core/host_device.hpp"

namespace fastpp::backend {

// 1 / (1 + exp(-x)) without overflow for either sign: with e = exp(-|x|) <= 1, 1/(1+e) or e/(1+e).
template <class Math, class A>
FASTPP_HD_INLINE A sigmoid_value(A x) {
  const A e = Math::exp_nonpos(x < A(0) ? x : -x);
  const A r = A(1) / (A(1) + e);
  return x < A(0) ? e * r : r;
}

// The sigmoid's backward from its output y: dy y (1 - y).
template <class A>
FASTPP_HD_INLINE A sigmoid_grad_value(A y, A dy) {
  return dy * y * (A(1) - y);
}

// PyTorch's binary_cross_entropy_with_logits for one element, class weight w, positive weight pw:
//   w ((1 - y) x + (1 + (pw - 1) y) log(1 + exp(-x))),  log(1 + exp(-x)) = max(-x, 0) + log1p(exp(-|x|))
template <class Math, class A>
FASTPP_HD_INLINE A bce_value(A x, A y, A w, A pw) {
  const A softplus_neg = (x < A(0) ? -x : A(0)) + Math::log1p(Math::exp_nonpos(x < A(0) ? x : -x));
  return w * ((A(1) - y) * x + (A(1) + (pw - A(1)) * y) * softplus_neg);
}

// Its derivative in x before the upstream gradient: w ((1 - y) - (1 + (pw - 1) y) sigmoid(-x)); the kernels
// multiply it by g (grad[i] per element, else grad[0] / divisor).
template <class Math, class A>
FASTPP_HD_INLINE A bce_grad_value(A x, A y, A w, A pw) {
  return w * ((A(1) - y) - (A(1) + (pw - A(1)) * y) * sigmoid_value<Math>(-x));
}

}  // namespace fastpp::backend
