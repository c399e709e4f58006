#pragma once
// The layer kernels of fastpp::cuda (src/cuda/*.cu), callable from plain C++: the same contracts as the
// cpu's (backend/cpu/layer_kernels.hpp and its detail/ files), with every array in device memory and
// geometry structs and scalars passed by value from the host. Activations NHWC, convolution weights OHWI,
// all float (namespace mixed, at the end: the entries with half or bfloat16 activations). Each call is queued
// on the calling thread's current stream (backend/cuda/stream.hpp) and returns without waiting for it.
#if !defined(FASTPP_WITH_CUDA)
#error "fastpp/backend/cuda/layers.hpp declares kernels of fastpp::cuda: configure with -DFASTPP_CUDA=ON, link fastpp::cuda"
#endif
#include <cstdint>

#include "../../core/half.hpp"
#include "../../core/rng.hpp"
#include "../geometry.hpp"

namespace fastpp::cuda_kernels {

using i64 = std::int64_t;

// A convolution's cuDNN state for one input shape: descriptors, the algorithms chosen for it (once per
// shape) and their workspace. Opaque here (src/cuda/conv.cu); a layer holds one through ConvWorkspace.
struct ConvPlan;
void destroy_conv_plan(ConvPlan* plan) noexcept;

// y = conv(x, w) + bias (bias may be null). `plan` is created or replaced when g differs from its shape.
void conv2d_forward(const float* x, const float* w, const float* bias, const backend::ConvGeom& g, float* y,
                    ConvPlan*& plan);
// dw and dbias are added to (gradients accumulate); dx is overwritten. Each may be null.
void conv2d_backward(const float* x, const float* w, const float* dy, const backend::ConvGeom& g, float* dw,
                     float* dbias, float* dx, ConvPlan*& plan);

// y[n, out] = x[n, in] w[out, in]^T + b (b may be null); backward adds dw and db, overwrites dx (each may be null).
void linear_forward(const float* x, const float* w, const float* b, i64 n, i64 in, i64 out, float* y);
void linear_backward(const float* x, const float* w, const float* dy, i64 n, i64 in, i64 out, float* dw, float* db,
                     float* dx);

// Batch normalisation over x[rows, c] (backend/cpu/detail/norm.hpp has the formulas): with `training`, the
// batch's statistics and PyTorch's running update; else the running estimates. Writes y, invstd[c] and
// xhat (when not null). The backward adds dgamma and dbeta (when not null) and writes dx (may be dy).
void batchnorm_forward(const float* x, i64 rows, i64 c, bool training, float momentum, float eps, const float* gamma,
                       const float* beta, float* running_mean, float* running_var, float* y, float* xhat,
                       float* invstd);
void batchnorm_backward(const float* xhat, const float* dy, i64 rows, i64 c, const float* gamma, const float* invstd,
                        bool frozen_stats, float* dgamma, float* dbeta, float* dx);
// Synchronised BatchNorm (backend/cpu/detail/norm_sync.hpp has the contracts), with `sums` in DEVICE memory
// (doubles; nn/norm.hpp keeps them there and sums them over the processes with ProcessSum::sum_device, so an
// NCCL run all-reduces them on the GPU): batchnorm_sync_sums writes sums[0, c) = sum x, sums[c, 2c) = sum x^2
// and sums[2c] = rows; batchnorm_sync_forward normalises with the global sums and moves the running
// estimates; batchnorm_sync_grad_sums writes sums[0, c) = sum dy, sums[c, 2c) = sum dy * xhat and adds them to
// dbeta and dgamma (when not null); batchnorm_sync_backward_dx writes dx (may be dy) from the global sums over
// n rows in all. Queued on the current stream, nothing waited for.
void batchnorm_sync_sums(const float* x, i64 rows, i64 c, double* sums);
void batchnorm_sync_forward(const float* x, i64 rows, i64 c, const double* sums, float momentum, float eps,
                            const float* gamma, const float* beta, float* running_mean, float* running_var, float* y,
                            float* xhat, float* invstd);
void batchnorm_sync_grad_sums(const float* xhat, const float* dy, i64 rows, i64 c, double* sums, float* dgamma,
                              float* dbeta);
void batchnorm_sync_backward_dx(const float* xhat, const float* dy, i64 rows, i64 c, const float* gamma,
                                const float* invstd, const double* sums, double n, float* dx);

// Pooling (backend/cpu/detail/pool.hpp): argmax holds each output's input offset within its image.
void maxpool2d_forward(const float* x, const backend::PoolGeom& g, float* y, std::int32_t* argmax);
void maxpool2d_backward(const float* dy, const std::int32_t* argmax, const backend::PoolGeom& g, float* dx);
void avgpool2d(const float* in, const backend::PoolGeom& g, bool backward, float* out);
void adaptive_pool_forward(const float* x, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max, float* y,
                           i64 ystride, i64 yoff, std::int32_t* argmax);
void adaptive_pool_backward(const float* dy, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max, i64 ystride,
                            i64 yoff, const std::int32_t* argmax, float* dx);

// Element-wise. relu_backward's dx may be dy. dropout draws element i from the i-th number of rng's
// stream from its current position, the cpu's draws exactly.
void relu_forward(const float* x, i64 n, float* y);
void relu_backward(const float* y, const float* dy, i64 n, float* dx);
void dropout_forward(const float* x, i64 n, float p, Rng rng, float* y, float* mask);
void add_inplace(float* a, const float* b, i64 n);
void multiply(const float* a, const float* b, i64 n, float* out);
void fill(float* p, i64 n, float value);
void nhwc_to_nchw(const float* x, i64 n, i64 h, i64 w, i64 c, float* y);
void nchw_to_nhwc(const float* x, i64 n, i64 h, i64 w, i64 c, float* y);

// The native entries of mixed_layer_kernels<cuda, A> (backend/cuda/mixed_layer_kernels.hpp) for A = half
// and bfloat16 (instantiated for those two in src/cuda): the float kernels' contracts with A activations and
// float parameters, their gradients and statistics (backend/mixed_layer_kernels.hpp); arithmetic in float,
// one rounding to A per output (the bias: after the product, a second rounding; see conv.cu, linear.cu).
// Convolutions and products run on tensor cores.
namespace mixed {

template <class A>
void conv2d_forward(const A* x, const float* w, const float* bias, const backend::ConvGeom& g, A* y, ConvPlan*& plan);
template <class A>
void conv2d_backward(const A* x, const float* w, const A* dy, const backend::ConvGeom& g, float* dw, float* dbias,
                     A* dx, ConvPlan*& plan);
template <class A>
void linear_forward(const A* x, const float* w, const float* b, i64 n, i64 in, i64 out, A* y);
template <class A>
void linear_backward(const A* x, const float* w, const A* dy, i64 n, i64 in, i64 out, float* dw, float* db, A* dx);
template <class A>
void batchnorm_forward(const A* x, i64 rows, i64 c, bool training, float momentum, float eps, const float* gamma,
                       const float* beta, float* running_mean, float* running_var, A* y, A* xhat, float* invstd);
template <class A>
void batchnorm_backward(const A* xhat, const A* dy, i64 rows, i64 c, const float* gamma, const float* invstd,
                        bool frozen_stats, float* dgamma, float* dbeta, A* dx);
// synchronised BatchNorm: the sums in device memory, doubles, as the float entries
template <class A>
void batchnorm_sync_sums(const A* x, i64 rows, i64 c, double* sums);
template <class A>
void batchnorm_sync_forward(const A* x, i64 rows, i64 c, const double* sums, float momentum, float eps,
                            const float* gamma, const float* beta, float* running_mean, float* running_var, A* y,
                            A* xhat, float* invstd);
template <class A>
void batchnorm_sync_grad_sums(const A* xhat, const A* dy, i64 rows, i64 c, double* sums, float* dgamma,
                              float* dbeta);
template <class A>
void batchnorm_sync_backward_dx(const A* xhat, const A* dy, i64 rows, i64 c, const float* gamma,
                                const float* invstd, const double* sums, double n, A* dx);
template <class A>
void maxpool2d_forward(const A* x, const backend::PoolGeom& g, A* y, std::int32_t* argmax);
template <class A>
void maxpool2d_backward(const A* dy, const std::int32_t* argmax, const backend::PoolGeom& g, A* dx);
template <class A>
void avgpool2d(const A* in, const backend::PoolGeom& g, bool backward, A* out);
template <class A>
void adaptive_pool_forward(const A* x, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max, A* y, i64 ystride,
                           i64 yoff, std::int32_t* argmax);
template <class A>
void adaptive_pool_backward(const A* dy, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max, i64 ystride,
                            i64 yoff, const std::int32_t* argmax, A* dx);
template <class A>
void relu_forward(const A* x, i64 n, A* y);
template <class A>
void relu_backward(const A* y, const A* dy, i64 n, A* dx);
template <class A>
void add_inplace(A* a, const A* b, i64 n);
// dropout: the mask holds the multiplier rounded to A, y = x * the float multiplier rounded (via_float's bits)
template <class A>
void dropout_forward(const A* x, i64 n, float p, Rng rng, A* y, A* mask);
template <class A>
void multiply(const A* a, const A* b, i64 n, A* out);
template <class A>
void fill(A* p, i64 n, float value);
template <class A>
void nhwc_to_nchw(const A* x, i64 n, i64 h, i64 w, i64 c, A* y);
template <class A>
void nchw_to_nhwc(const A* x, i64 n, i64 h, i64 w, i64 c, A* y);

}  // namespace mixed

}  // namespace fastpp::cuda_kernels
