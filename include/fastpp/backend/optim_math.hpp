#pragma once
// The per-element arithmetic of the optimizers, shared by the cpu kernels (cpu/optim_kernels.hpp) and the
// CUDA kernels (src/cuda/optim.cu), so the cpu tests run the expressions the GPU runs. Nothing but
// core/host_device.hpp is included: nvcc compiles it for the device.
//
// Each expression is written with the operations of an Ops policy (mul, add, sub, div, sqrt on float), in
// the order the cpu always computed them. The cpu passes plain operators (HostOps below: the compiler may
// fuse a multiply-add where the build allows FMA, as before); the GPU passes the IEEE round-to-nearest
// intrinsics (__fmul_rn, __fadd_rn, __fdiv_rn, __fsqrt_rn), which nvcc never contracts into an FMA. So the
// GPU's results are the bits of the cpu's scalar path wherever the cpu's build has no FMA (plain x86-64),
// and of any host evaluation that keeps each operation rounded on its own.
#include "../core/host_device.hpp"

#if !defined(FASTPP_HD_ALWAYS_INLINE)
#if defined(__CUDACC__)
#define FASTPP_HD_ALWAYS_INLINE __host__ __device__ __forceinline__
#else
#define FASTPP_HD_ALWAYS_INLINE [[gnu::always_inline]] inline
#endif
#endif

namespace fastpp::backend {

// Adam's per-element constants, combined in double and rounded to float once, as PyTorch rounds fastai's
// Python scalars (1 - sqr_mom from a float sqr_mom would be 1e-6 off: 1 - 0.99f = 0.00999999). Built on the
// host and passed to the kernels by value.
struct AdamConsts {
  float keep, l2, m1, d1, m2, d2, step, db2, eps;
  AdamConsts(double lr, double mom, double sqr_mom, double eps_, double wd, bool decouple_wd, double debias1,
             double debias2)
      : keep(static_cast<float>(decouple_wd ? 1 - lr * wd : 1.0)),  // wd == 0 keeps p exactly
        l2(static_cast<float>(decouple_wd ? 0.0 : wd)),
        m1(static_cast<float>(mom)),
        d1(static_cast<float>(1 - mom)),
        m2(static_cast<float>(sqr_mom)),
        d2(static_cast<float>(1 - sqr_mom)),
        step(static_cast<float>(lr / debias1)),
        db2(static_cast<float>(debias2)),
        eps(static_cast<float>(eps_)) {}
};

// SGD's constants, rounded to float the same way: keep = 1 - lr*wd with decoupled weight decay (else 1),
// l2 = wd with coupled weight decay (else 0).
struct SgdConsts {
  float keep, l2, mom, lr;
  SgdConsts(double lr_, double mom_, double wd, bool decouple_wd)
      : keep(static_cast<float>(decouple_wd ? 1 - lr_ * wd : 1.0)),
        l2(static_cast<float>(decouple_wd ? 0.0 : wd)),
        mom(static_cast<float>(mom_)),
        lr(static_cast<float>(lr_)) {}
};

struct AdamElement {
  float p, grad_avg, sqr_avg;
};

// One element of fastai's Adam from p, g and the state:
//   g' = g + l2 p,  grad_avg = m1 grad_avg + d1 g',  sqr_avg = m2 sqr_avg + d2 g'^2,
//   p = p keep - step (grad_avg / (sqrt(sqr_avg / db2) + eps))
template <class Ops>
FASTPP_HD_ALWAYS_INLINE AdamElement adam_element(float p, float g, float grad_avg, float sqr_avg, const AdamConsts& c) {
  // One operation a statement, in the order the cpu's expressions always evaluated them: the operands of a
  // call are evaluated in an unspecified order (GCC: right to left), and where the build allows FMA the
  // compiler's choice of which product to fuse follows the statements' order, so the cpu keeps its bits.
  const float l2p = Ops::mul(c.l2, p);
  const float gi = Ops::add(g, l2p);
  const float ga_kept = Ops::mul(c.m1, grad_avg);
  const float ga_new = Ops::mul(c.d1, gi);
  const float ga = Ops::add(ga_kept, ga_new);
  const float sa_kept = Ops::mul(c.m2, sqr_avg);
  const float g2 = Ops::mul(gi, gi);
  const float sa_new = Ops::mul(c.d2, g2);
  const float sa = Ops::add(sa_kept, sa_new);
  const float p_kept = Ops::mul(p, c.keep);
  const float den = Ops::add(Ops::sqrt(Ops::div(sa, c.db2)), c.eps);
  const float update = Ops::mul(c.step, Ops::div(ga, den));
  return {Ops::sub(p_kept, update), ga, sa};
}

struct SgdElement {
  float p, grad_avg;
};

// SGD with momentum (no dampening): grad_avg = mom grad_avg + (g + l2 p), p = p keep - lr grad_avg.
template <class Ops>
FASTPP_HD_ALWAYS_INLINE SgdElement sgd_momentum_element(float p, float g, float grad_avg, const SgdConsts& c) {
  const float kept = Ops::mul(c.mom, grad_avg);  // in the cpu's order, as in adam_element
  const float l2p = Ops::mul(c.l2, p);
  const float ga = Ops::add(kept, Ops::add(g, l2p));
  const float p_kept = Ops::mul(p, c.keep);
  const float update = Ops::mul(c.lr, ga);
  return {Ops::sub(p_kept, update), ga};
}

// SGD without momentum: p = p keep - lr (g + l2 p).
template <class Ops>
FASTPP_HD_ALWAYS_INLINE float sgd_plain_element(float p, float g, const SgdConsts& c) {
  const float p_kept = Ops::mul(p, c.keep);
  const float l2p = Ops::mul(c.l2, p);
  const float update = Ops::mul(c.lr, Ops::add(g, l2p));
  return Ops::sub(p_kept, update);
}

// Whether v is finite: |v| <= FLT_MAX is false for inf and NaN alike (a mask and a comparison, so the
// cpu's loop vectorises).
FASTPP_HD_ALWAYS_INLINE bool finite_value(float v) {
#if defined(__CUDA_ARCH__)
  return fabsf(v) <= 3.40282346638528859812e+38f;
#else
  return __builtin_fabsf(v) <= 3.40282346638528859812e+38f;
#endif
}

}  // namespace fastpp::backend
