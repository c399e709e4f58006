#pragma once
// fastpp::backend::layer_kernels<cuda>: the table every layer in nn/ calls, on the GPU. Each entry is a
// function of fastpp::cuda (declared in layers.hpp, built by nvcc), so code that includes this header is
// plain C++; it links fastpp::cuda.
#include "../../core/device.hpp"
#include "../tables.hpp"
#include "layers.hpp"

namespace fastpp::backend {

template <>
struct layer_kernels<fastpp::cuda> {
  // A convolution layer's cuDNN plan (descriptors, algorithms, workspace), made on its first call and
  // remade when the input's shape changes. A copied layer starts without one: plans are not shared.
  class workspace {
   public:
    workspace() = default;
    workspace(const workspace&) {}
    workspace& operator=(const workspace&) {
      reset();
      return *this;
    }
    ~workspace() { reset(); }
    cuda_kernels::ConvPlan*& plan() { return plan_; }

   private:
    void reset() noexcept {
      cuda_kernels::destroy_conv_plan(plan_);
      plan_ = nullptr;
    }
    cuda_kernels::ConvPlan* plan_ = nullptr;
  };

  static void conv2d_forward(const float* x, const float* w, const float* bias, const ConvGeom& g, float* y,
                             workspace& ws) {
    cuda_kernels::conv2d_forward(x, w, bias, g, y, ws.plan());
  }
  static void conv2d_backward(const float* x, const float* w, const float* dy, const ConvGeom& g, float* dw,
                              float* dbias, float* dx, workspace& ws) {
    cuda_kernels::conv2d_backward(x, w, dy, g, dw, dbias, dx, ws.plan());
  }

  static constexpr auto linear_forward = &cuda_kernels::linear_forward;
  static constexpr auto linear_backward = &cuda_kernels::linear_backward;
  static constexpr auto batchnorm_forward = &cuda_kernels::batchnorm_forward;
  static constexpr auto batchnorm_backward = &cuda_kernels::batchnorm_backward;
  // Synchronised BatchNorm (src/cuda/norm_sync.cu): the sums between these calls stay in device memory.
  static constexpr auto batchnorm_sync_sums = &cuda_kernels::batchnorm_sync_sums;
  static constexpr auto batchnorm_sync_forward = &cuda_kernels::batchnorm_sync_forward;
  static constexpr auto batchnorm_sync_grad_sums = &cuda_kernels::batchnorm_sync_grad_sums;
  static constexpr auto batchnorm_sync_backward_dx = &cuda_kernels::batchnorm_sync_backward_dx;
  static constexpr auto maxpool2d_forward = &cuda_kernels::maxpool2d_forward;
  static constexpr auto maxpool2d_backward = &cuda_kernels::maxpool2d_backward;
  static constexpr auto avgpool2d = &cuda_kernels::avgpool2d;
  static constexpr auto adaptive_pool_forward = &cuda_kernels::adaptive_pool_forward;
  static constexpr auto adaptive_pool_backward = &cuda_kernels::adaptive_pool_backward;
  static constexpr auto relu_forward = &cuda_kernels::relu_forward;
  static constexpr auto relu_backward = &cuda_kernels::relu_backward;
  static constexpr auto dropout_forward = &cuda_kernels::dropout_forward;
  static constexpr auto add_inplace = &cuda_kernels::add_inplace;
  static constexpr auto multiply = &cuda_kernels::multiply;
  static constexpr auto fill = &cuda_kernels::fill;
  static constexpr auto nhwc_to_nchw = &cuda_kernels::nhwc_to_nchw;
  static constexpr auto nchw_to_nhwc = &cuda_kernels::nchw_to_nhwc;
};

}  // namespace fastpp::backend
