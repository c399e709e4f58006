#pragma once
// The cpu's layer kernels: fastpp::backend::layer_kernels<cpu>, the table every layer in nn/ calls on
// the cpu. Each entry is a plain function over raw float pointers (activations NHWC, convolution weights
// OHWI), defined once in detail/; the table only names them, so another device (or a test device that
// counts calls) can be written entry by entry. Activations and parameters are float on the cpu.
#include <cstdint>
#include <vector>

#include "../../core/device.hpp"
#include "../geometry.hpp"
#include "../kernels.hpp"
#include "conv_library.hpp"
#include "detail/conv.hpp"
#include "detail/elementwise.hpp"
#include "detail/linear.hpp"
#include "detail/norm.hpp"
#include "detail/norm_sync.hpp"
#include "detail/pool.hpp"
#if FASTPP_HAVE_ONEDNN
#include "detail/onednn_conv.hpp"
#endif

namespace fastpp::backend {

template <>
struct layer_kernels<fastpp::cpu> {
  // Scratch a convolution keeps between calls (the im2col columns and their gradient, or oneDNN's
  // primitives), so a training loop allocates them once per layer.
  struct workspace {
    std::vector<float> col, dcol;
#if FASTPP_HAVE_ONEDNN
    cpu_detail::OnednnSlot onednn;
#endif
  };

  // oneDNN's kernels where conv_library() says so (conv_library.hpp), else fastpp's im2col + GEMM.
  static void conv2d_forward(const float* x, const float* w, const float* bias, const ConvGeom& g, float* y,
                             workspace& ws) {
#if FASTPP_HAVE_ONEDNN
    if (conv_library() == ConvLibrary::onednn) return ws.onednn.forward(g, bias != nullptr).forward(x, w, bias, y);
#endif
    cpu_detail::conv2d_forward(x, w, bias, g, y, ws.col);
  }
  // dw, dbias and dx may each be null (frozen parameters, or no input gradient wanted).
  static void conv2d_backward(const float* x, const float* w, const float* dy, const ConvGeom& g, float* dw,
                              float* dbias, float* dx, workspace& ws) {
#if FASTPP_HAVE_ONEDNN
    if (conv_library() == ConvLibrary::onednn) {
      if (dbias) cpu_detail::add_column_sums(dy, g.n * g.ho() * g.wo(), g.cout, dbias);
      if (dw || dx) ws.onednn.backward(g).backward(x, w, dy, dw, dx);
      return;
    }
#endif
    cpu_detail::conv2d_backward(x, w, dy, g, dw, dbias, dx, ws.col, ws.dcol);
  }

  static constexpr auto linear_forward = &cpu_detail::linear_forward;    // (x, w, b, n, in, out, y)
  static constexpr auto linear_backward = &cpu_detail::linear_backward;  // (x, w, dy, n, in, out, dw, db, dx)

  static constexpr auto batchnorm_forward = &cpu_detail::batchnorm_forward;
  static constexpr auto batchnorm_backward = &cpu_detail::batchnorm_backward;  // dx may be dy (in place)
  // Synchronised BatchNorm (detail/norm_sync.hpp): the sums over processes are made between these calls.
  // A device whose table lacks them refuses sync_batchnorm with a sentence (nn/norm.hpp).
  static constexpr auto batchnorm_sync_sums = &cpu_detail::batchnorm_sync_sums;        // (x, rows, c, sums[2c+1])
  static constexpr auto batchnorm_sync_forward = &cpu_detail::batchnorm_sync_forward;  // as forward, global sums
  static constexpr auto batchnorm_sync_grad_sums = &cpu_detail::batchnorm_sync_grad_sums;      // (.., sums[2c], dg, db)
  static constexpr auto batchnorm_sync_backward_dx = &cpu_detail::batchnorm_sync_backward_dx;  // dx may be dy

  static constexpr auto maxpool2d_forward = &cpu_detail::maxpool2d_forward;    // (x, g, y, argmax)
  static constexpr auto maxpool2d_backward = &cpu_detail::maxpool2d_backward;  // (dy, argmax, g, dx)
  static constexpr auto avgpool2d = &cpu_detail::avgpool2d;                    // (in, g, backward, out)
  static constexpr auto adaptive_pool_forward = &cpu_detail::adaptive_pool_forward;
  static constexpr auto adaptive_pool_backward = &cpu_detail::adaptive_pool_backward;

  static constexpr auto relu_forward = &cpu_detail::relu_forward;        // (x, n, y)
  static constexpr auto relu_backward = &cpu_detail::relu_backward;      // (y, dy, n, dx); dx may be dy
  static constexpr auto dropout_forward = &cpu_detail::dropout_forward;  // (x, n, p, rng, y, mask)
  static constexpr auto add_inplace = &cpu_detail::add_inplace;          // (a, b, n): a += b
  static constexpr auto multiply = &cpu_detail::multiply;                // (a, b, n, out)
  static constexpr auto fill = &cpu_detail::fill;                        // (p, n, value)
  static constexpr auto nhwc_to_nchw = &cpu_detail::nhwc_to_nchw;        // (x, n, h, w, c, y)
  static constexpr auto nchw_to_nhwc = &cpu_detail::nchw_to_nhwc;        // (x, n, h, w, c, y)
};

}  // namespace fastpp::backend
