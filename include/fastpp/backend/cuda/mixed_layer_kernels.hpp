#pragma once
// fastpp::backend::mixed_layer_kernels<cuda, A> for A = half and bfloat16: the layer table of a network with
// half or bfloat16 activations on the GPU (backend/mixed_layer_kernels.hpp has the contract: A activations and
// activation gradients, float parameters, parameter gradients (added to) and BatchNorm statistics).
//
// Native (src/cuda, cuda_kernels::mixed in layers.hpp), with float arithmetic and A storage:
//   conv2d_forward, conv2d_backward   cuDNN on A tensors and filters, float compute, CUDNN_TENSOR_OP_MATH
//                                     (tensor cores); the float weights rounded to A in a buffer of the
//                                     layer's plan on each call; dw computed in A, added into the float dw
//   linear_forward, linear_backward   cublasGemmEx, A inputs, CUBLAS_COMPUTE_32F (tensor cores); dw straight
//                                     into the float dw (float output, beta = 1)
//   batchnorm_forward, _backward, batchnorm_sync_sums, _forward, _grad_sums, _backward_dx
//                                     norm.cu's and norm_sync.cu's kernels over A storage (the same
//                                     float/double sums; the sync sums stay device doubles)
//   maxpool2d_forward, _backward, avgpool2d, adaptive_pool_forward, _backward, relu_forward, relu_backward,
//   dropout_forward, add_inplace, multiply, fill, nhwc_to_nchw, nchw_to_nhwc   elementwise.cu's and pool.cu's
//                                     kernels over A storage (loaded as float, stored as A)
// Every entry of the table is native; via_float_layer_kernels (widened to float, the float kernel, rounded
// back) remains the base, and what a future entry of layer_kernels gets until it has an A kernel here.
//
// Rounding: one rounding to A per output, as via_float's, except where a bias is added to a convolution's or
// a linear layer's output (rounded after the product, then after the bias) and conv2d's dw (rounded to A
// before it is added into the float gradient). Convolutions and products multiply by the weights rounded to A
// (as PyTorch's autocast; via_float multiplies by the float weights). The kernels convert with core/half.hpp's
// functions (the cpu's bits), not the GPU's conversion instructions. The tests
// (tests/cuda/test_mixed_layers.cpp) compare each native entry with the cpu's via_float_layer_kernels<cpu, A>.
#include <cstdint>

#include "../../core/device.hpp"
#include "../../core/half.hpp"
#include "../../core/rng.hpp"
#include "../geometry.hpp"
#include "../mixed_layer_kernels.hpp"
#include "cast_kernels.hpp"
#include "layer_kernels.hpp"
#include "layers.hpp"

namespace fastpp::backend {

namespace cuda_detail {
template <class A>
struct native_mixed_layer_kernels : via_float_layer_kernels<fastpp::cuda, A> {
  using i64 = std::int64_t;
  // layer_kernels<cuda>'s: one cuDNN plan per layer, whose data type follows the activations'
  using workspace = typename layer_kernels<fastpp::cuda>::workspace;

  static void conv2d_forward(const A* x, const float* w, const float* bias, const ConvGeom& g, A* y, workspace& ws) {
    cuda_kernels::mixed::conv2d_forward(x, w, bias, g, y, ws.plan());
  }
  static void conv2d_backward(const A* x, const float* w, const A* dy, const ConvGeom& g, float* dw, float* dbias,
                              A* dx, workspace& ws) {
    cuda_kernels::mixed::conv2d_backward(x, w, dy, g, dw, dbias, dx, ws.plan());
  }
  static void linear_forward(const A* x, const float* w, const float* b, i64 n, i64 in, i64 out, A* y) {
    cuda_kernels::mixed::linear_forward(x, w, b, n, in, out, y);
  }
  static void linear_backward(const A* x, const float* w, const A* dy, i64 n, i64 in, i64 out, float* dw, float* db,
                              A* dx) {
    cuda_kernels::mixed::linear_backward(x, w, dy, n, in, out, dw, db, dx);
  }
  static void batchnorm_forward(const A* x, i64 rows, i64 c, bool training, float momentum, float eps,
                                const float* gamma, const float* beta, float* running_mean, float* running_var, A* y,
                                A* xhat, float* invstd) {
    cuda_kernels::mixed::batchnorm_forward(x, rows, c, training, momentum, eps, gamma, beta, running_mean,
                                           running_var, y, xhat, invstd);
  }
  static void batchnorm_backward(const A* xhat, const A* dy, i64 rows, i64 c, const float* gamma, const float* invstd,
                                 bool frozen_stats, float* dgamma, float* dbeta, A* dx) {
    cuda_kernels::mixed::batchnorm_backward(xhat, dy, rows, c, gamma, invstd, frozen_stats, dgamma, dbeta, dx);
  }
  // synchronised BatchNorm (norm_sync.cu): the sums between these calls stay in device memory
  static void batchnorm_sync_sums(const A* x, i64 rows, i64 c, double* sums) {
    cuda_kernels::mixed::batchnorm_sync_sums(x, rows, c, sums);
  }
  static void batchnorm_sync_forward(const A* x, i64 rows, i64 c, const double* sums, float momentum, float eps,
                                     const float* gamma, const float* beta, float* running_mean, float* running_var,
                                     A* y, A* xhat, float* invstd) {
    cuda_kernels::mixed::batchnorm_sync_forward(x, rows, c, sums, momentum, eps, gamma, beta, running_mean,
                                                running_var, y, xhat, invstd);
  }
  static void batchnorm_sync_grad_sums(const A* xhat, const A* dy, i64 rows, i64 c, double* sums, float* dgamma,
                                       float* dbeta) {
    cuda_kernels::mixed::batchnorm_sync_grad_sums(xhat, dy, rows, c, sums, dgamma, dbeta);
  }
  static void batchnorm_sync_backward_dx(const A* xhat, const A* dy, i64 rows, i64 c, const float* gamma,
                                         const float* invstd, const double* sums, double n, A* dx) {
    cuda_kernels::mixed::batchnorm_sync_backward_dx(xhat, dy, rows, c, gamma, invstd, sums, n, dx);
  }
  static void maxpool2d_forward(const A* x, const PoolGeom& g, A* y, std::int32_t* argmax) {
    cuda_kernels::mixed::maxpool2d_forward(x, g, y, argmax);
  }
  static void maxpool2d_backward(const A* dy, const std::int32_t* argmax, const PoolGeom& g, A* dx) {
    cuda_kernels::mixed::maxpool2d_backward(dy, argmax, g, dx);
  }
  static void adaptive_pool_forward(const A* x, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max, A* y,
                                    i64 ystride, i64 yoff, std::int32_t* argmax) {
    cuda_kernels::mixed::adaptive_pool_forward(x, n, h, w, c, oh, ow, is_max, y, ystride, yoff, argmax);
  }
  static void adaptive_pool_backward(const A* dy, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max,
                                     i64 ystride, i64 yoff, const std::int32_t* argmax, A* dx) {
    cuda_kernels::mixed::adaptive_pool_backward(dy, n, h, w, c, oh, ow, is_max, ystride, yoff, argmax, dx);
  }
  static void relu_forward(const A* x, i64 n, A* y) { cuda_kernels::mixed::relu_forward(x, n, y); }
  static void relu_backward(const A* y, const A* dy, i64 n, A* dx) { cuda_kernels::mixed::relu_backward(y, dy, n, dx); }
  static void add_inplace(A* a, const A* b, i64 n) { cuda_kernels::mixed::add_inplace(a, b, n); }
  static void avgpool2d(const A* in, const PoolGeom& g, bool backward, A* out) {
    cuda_kernels::mixed::avgpool2d(in, g, backward, out);
  }
  static void dropout_forward(const A* x, i64 n, float p, Rng rng, A* y, A* mask) {
    cuda_kernels::mixed::dropout_forward(x, n, p, rng, y, mask);
  }
  static void multiply(const A* a, const A* b, i64 n, A* out) { cuda_kernels::mixed::multiply(a, b, n, out); }
  static void fill(A* p, i64 n, float value) { cuda_kernels::mixed::fill(p, n, value); }
  static void nhwc_to_nchw(const A* x, i64 n, i64 h, i64 w, i64 c, A* y) {
    cuda_kernels::mixed::nhwc_to_nchw(x, n, h, w, c, y);
  }
  static void nchw_to_nhwc(const A* x, i64 n, i64 h, i64 w, i64 c, A* y) {
    cuda_kernels::mixed::nchw_to_nhwc(x, n, h, w, c, y);
  }
};
}  // namespace cuda_detail

template <>
struct mixed_layer_kernels<fastpp::cuda, half> : cuda_detail::native_mixed_layer_kernels<half> {};
template <>
struct mixed_layer_kernels<fastpp::cuda, bfloat16> : cuda_detail::native_mixed_layer_kernels<bfloat16> {};

}  // namespace fastpp::backend
