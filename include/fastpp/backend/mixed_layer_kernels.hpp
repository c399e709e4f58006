#pragma once
// Layers with half or bfloat16 activations (mixed precision with the storage of PyTorch's autocast):
// activations, their gradients and what a layer keeps for backward are A (half or bfloat16); parameters,
// their gradients and BatchNorm's statistics stay float (the optimizer's master weights); arithmetic
// accumulates in float. nn/ picks the table with layer_kernels_for<D, T>:
//
//   layer_kernels_for<D, float>  = layer_kernels<D>              (unchanged)
//   layer_kernels_for<D, A>      = mixed_layer_kernels<D, A>     (A = half or bfloat16)
//
// mixed_layer_kernels<D, A> has layer_kernels<D>'s entries with A* in place of the activations' float*.
// Its primary template is via_float_layer_kernels<D, A>: every entry converts its A inputs to float
// (cast_kernels<D>), runs layer_kernels<D>'s float kernel and rounds its A outputs back. That is what the
// cpu runs (the cpu has no half arithmetic worth having: it is for tests and for checking a half model's
// numbers; a half model on the cpu is slower than a float one), and what any device gets for an entry it
// does not write natively: the cuda specialisation (backend/cuda/mixed_layer_kernels.hpp) derives from it
// and replaces the entries whose native half kernels matter (convolution and linear on tensor cores, ...).
//
// Rounding: one rounding to A per output, as a native kernel with float accumulation does; the adaptive
// pools' backward, which adds into dx, rounds dx after each add.
#include <cstdint>
#include <type_traits>

#include "../core/device.hpp"
#include "../core/half.hpp"
#include "../core/rng.hpp"
#include "../core/tensor.hpp"
#include "geometry.hpp"
#include "tables.hpp"

namespace fastpp::backend {

// The dtypes a layer's activations may have besides float.
template <class A>
inline constexpr bool is_low_precision_v = std::is_same_v<A, half> || std::is_same_v<A, bfloat16>;

template <class D, class A>
struct via_float_layer_kernels {
  static_assert(is_low_precision_v<A>, "via_float_layer_kernels<D, A>: A is half or bfloat16");
  using i64 = std::int64_t;
  using f32 = layer_kernels<D>;
  using workspace = typename f32::workspace;

  // A float copy of n elements of src on D (src may be null: then an undefined tensor).
  static Tensor<float, D> widen(const A* src, i64 n) {
    if (!src) return {};
    auto t = Tensor<float, D>::empty(Shape{n});
    cast_kernels<D>::to_float(src, n, t.data());
    return t;
  }
  static Tensor<float, D> scratch(const A* dst, i64 n) { return dst ? Tensor<float, D>::empty(Shape{n}) : Tensor<float, D>{}; }
  static void narrow(const Tensor<float, D>& t, A* dst) {
    if (dst) cast_kernels<D>::from_float(t.data(), t.numel(), dst);
  }
  static float* ptr(Tensor<float, D>& t) { return t.defined() ? t.data() : nullptr; }
  static const float* ptr(const Tensor<float, D>& t) { return t.defined() ? t.data() : nullptr; }

  static void conv2d_forward(const A* x, const float* w, const float* bias, const ConvGeom& g, A* y, workspace& ws) {
    const auto xf = widen(x, g.n * g.h * g.w * g.cin);
    auto yf = scratch(y, g.n * g.ho() * g.wo() * g.cout);
    f32::conv2d_forward(xf.data(), w, bias, g, yf.data(), ws);
    narrow(yf, y);
  }
  static void conv2d_backward(const A* x, const float* w, const A* dy, const ConvGeom& g, float* dw, float* dbias,
                              A* dx, workspace& ws) {
    const auto xf = widen(x, g.n * g.h * g.w * g.cin);
    const auto dyf = widen(dy, g.n * g.ho() * g.wo() * g.cout);
    auto dxf = scratch(dx, g.n * g.h * g.w * g.cin);
    f32::conv2d_backward(xf.data(), w, dyf.data(), g, dw, dbias, ptr(dxf), ws);
    narrow(dxf, dx);
  }

  static void linear_forward(const A* x, const float* w, const float* b, i64 n, i64 in, i64 out, A* y) {
    const auto xf = widen(x, n * in);
    auto yf = scratch(y, n * out);
    f32::linear_forward(xf.data(), w, b, n, in, out, yf.data());
    narrow(yf, y);
  }
  static void linear_backward(const A* x, const float* w, const A* dy, i64 n, i64 in, i64 out, float* dw, float* db,
                              A* dx) {
    const auto xf = widen(x, n * in);
    const auto dyf = widen(dy, n * out);
    auto dxf = scratch(dx, n * in);
    f32::linear_backward(ptr(xf), w, dyf.data(), n, in, out, dw, db, ptr(dxf));
    narrow(dxf, dx);
  }

  static void batchnorm_forward(const A* x, i64 rows, i64 c, bool training, float momentum, float eps,
                                const float* gamma, const float* beta, float* running_mean, float* running_var, A* y,
                                A* xhat, float* invstd) {
    const auto xf = widen(x, rows * c);
    auto yf = scratch(y, rows * c);
    auto xhatf = scratch(xhat, rows * c);
    f32::batchnorm_forward(xf.data(), rows, c, training, momentum, eps, gamma, beta, running_mean, running_var,
                           yf.data(), ptr(xhatf), invstd);
    narrow(yf, y);
    narrow(xhatf, xhat);
  }
  static void batchnorm_backward(const A* xhat, const A* dy, i64 rows, i64 c, const float* gamma, const float* invstd,
                                 bool frozen_stats, float* dgamma, float* dbeta, A* dx) {
    const auto xhatf = widen(xhat, rows * c);
    auto dyf = widen(dy, rows * c);
    f32::batchnorm_backward(xhatf.data(), dyf.data(), rows, c, gamma, invstd, frozen_stats, dgamma, dbeta,
                            dyf.data());
    narrow(dyf, dx);
  }
  static void batchnorm_sync_sums(const A* x, i64 rows, i64 c, double* sums) {
    f32::batchnorm_sync_sums(widen(x, rows * c).data(), rows, c, sums);
  }
  static void batchnorm_sync_forward(const A* x, i64 rows, i64 c, const double* sums, float momentum, float eps,
                                     const float* gamma, const float* beta, float* running_mean, float* running_var,
                                     A* y, A* xhat, float* invstd) {
    const auto xf = widen(x, rows * c);
    auto yf = scratch(y, rows * c);
    auto xhatf = scratch(xhat, rows * c);
    f32::batchnorm_sync_forward(xf.data(), rows, c, sums, momentum, eps, gamma, beta, running_mean, running_var,
                                yf.data(), ptr(xhatf), invstd);
    narrow(yf, y);
    narrow(xhatf, xhat);
  }
  static void batchnorm_sync_grad_sums(const A* xhat, const A* dy, i64 rows, i64 c, double* sums, float* dgamma,
                                       float* dbeta) {
    f32::batchnorm_sync_grad_sums(widen(xhat, rows * c).data(), widen(dy, rows * c).data(), rows, c, sums, dgamma,
                                  dbeta);
  }
  static void batchnorm_sync_backward_dx(const A* xhat, const A* dy, i64 rows, i64 c, const float* gamma,
                                         const float* invstd, const double* sums, double n, A* dx) {
    auto dyf = widen(dy, rows * c);
    f32::batchnorm_sync_backward_dx(widen(xhat, rows * c).data(), dyf.data(), rows, c, gamma, invstd, sums, n,
                                    dyf.data());
    narrow(dyf, dx);
  }

  static void maxpool2d_forward(const A* x, const PoolGeom& g, A* y, std::int32_t* argmax) {
    auto yf = scratch(y, g.n * g.ho() * g.wo() * g.c);
    f32::maxpool2d_forward(widen(x, g.n * g.h * g.w * g.c).data(), g, yf.data(), argmax);
    narrow(yf, y);
  }
  static void maxpool2d_backward(const A* dy, const std::int32_t* argmax, const PoolGeom& g, A* dx) {
    auto dxf = scratch(dx, g.n * g.h * g.w * g.c);
    f32::maxpool2d_backward(widen(dy, g.n * g.ho() * g.wo() * g.c).data(), argmax, g, dxf.data());
    narrow(dxf, dx);
  }
  // Forward reads [n, h, w, c] and writes [n, ho, wo, c]; backward the other way round.
  static void avgpool2d(const A* in, const PoolGeom& g, bool backward, A* out) {
    const i64 big = g.n * g.h * g.w * g.c, small = g.n * g.ho() * g.wo() * g.c;
    auto outf = scratch(out, backward ? big : small);
    f32::avgpool2d(widen(in, backward ? small : big).data(), g, backward, outf.data());
    narrow(outf, out);
  }
  // y is [n, oh, ow, ystride] with this pool's c channels at offset yoff: the other channels (another pool
  // of a concat pool) go through the float copy unchanged, so the whole row is widened and narrowed.
  static void adaptive_pool_forward(const A* x, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max, A* y,
                                    i64 ystride, i64 yoff, std::int32_t* argmax) {
    auto yf = widen(y, n * oh * ow * ystride);
    f32::adaptive_pool_forward(widen(x, n * h * w * c).data(), n, h, w, c, oh, ow, is_max, yf.data(), ystride, yoff,
                               argmax);
    narrow(yf, y);
  }
  // Adds into dx (the pools of a concat pool add their parts in turn).
  static void adaptive_pool_backward(const A* dy, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max,
                                     i64 ystride, i64 yoff, const std::int32_t* argmax, A* dx) {
    auto dxf = widen(dx, n * h * w * c);
    f32::adaptive_pool_backward(widen(dy, n * oh * ow * ystride).data(), n, h, w, c, oh, ow, is_max, ystride, yoff,
                                argmax, dxf.data());
    narrow(dxf, dx);
  }

  static void relu_forward(const A* x, i64 n, A* y) {
    auto f = widen(x, n);
    f32::relu_forward(f.data(), n, f.data());
    narrow(f, y);
  }
  static void relu_backward(const A* y, const A* dy, i64 n, A* dx) {
    auto dyf = widen(dy, n);
    f32::relu_backward(widen(y, n).data(), dyf.data(), n, dyf.data());
    narrow(dyf, dx);
  }
  // The mask holds 0 or 1/(1-p) rounded to A, and the backward multiplies by that rounded mask.
  static void dropout_forward(const A* x, i64 n, float p, Rng rng, A* y, A* mask) {
    auto f = widen(x, n);
    auto maskf = scratch(mask, n);
    f32::dropout_forward(f.data(), n, p, rng, f.data(), maskf.data());
    narrow(f, y);
    narrow(maskf, mask);
  }
  static void add_inplace(A* a, const A* b, i64 n) {
    auto af = widen(a, n);
    f32::add_inplace(af.data(), widen(b, n).data(), n);
    narrow(af, a);
  }
  static void multiply(const A* a, const A* b, i64 n, A* out) {
    auto af = widen(a, n);
    f32::multiply(af.data(), widen(b, n).data(), n, af.data());
    narrow(af, out);
  }
  static void fill(A* p, i64 n, float value) {
    auto f = scratch(p, n);
    f32::fill(f.data(), n, value);
    narrow(f, p);
  }
  static void nhwc_to_nchw(const A* x, i64 n, i64 h, i64 w, i64 c, A* y) {
    auto yf = scratch(y, n * h * w * c);
    f32::nhwc_to_nchw(widen(x, n * h * w * c).data(), n, h, w, c, yf.data());
    narrow(yf, y);
  }
  static void nchw_to_nhwc(const A* x, i64 n, i64 h, i64 w, i64 c, A* y) {
    auto yf = scratch(y, n * h * w * c);
    f32::nchw_to_nhwc(widen(x, n * h * w * c).data(), n, h, w, c, yf.data());
    narrow(yf, y);
  }
};

// A device with native half kernels specialises this (deriving from via_float_layer_kernels<D, A> keeps
// the entries it does not write).
template <class D, class A>
struct mixed_layer_kernels : via_float_layer_kernels<D, A> {};

namespace detail {
template <class D, class T>
struct layer_kernels_for_t {
  using type = mixed_layer_kernels<D, T>;
};
template <class D>
struct layer_kernels_for_t<D, float> {
  using type = layer_kernels<D>;
};
}  // namespace detail

// The table a layer over Tensor<T, D> calls.
template <class D, class T>
using layer_kernels_for = typename detail::layer_kernels_for_t<D, T>::type;

}  // namespace fastpp::backend
