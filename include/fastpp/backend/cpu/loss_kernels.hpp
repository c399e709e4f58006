#pragma once
// The cpu loss kernels: every loop over data that loss/ runs, for float and double (half and bfloat16
// are computed in float by loss/). Plain static functions over raw pointers and sizes, so a device
// written for a test can forward each one and count its calls. Arrays are row-major [rows, n], class
// indices int64 ([rows]), class weights float ([n] or null). Float rows run AVX2 + FMA code where the
// CPU has it (checked once at run time, detail/loss_blocks.hpp), portable code elsewhere; reductions are
// summed in double in blocks fixed by the row length, so results do not depend on the thread count.
//   detail/loss_softmax.hpp      softmax, log_softmax, softmax_backward, log_softmax_backward, argmax,
//                                softmax_cross_entropy (with label smoothing)
//   detail/loss_elementwise.hpp  scan_targets, widen_targets, nll_loss, nll_loss_backward, sigmoid,
//                                sigmoid_backward, bce_with_logits, bce_with_logits_backward
#include "../kernels.hpp"
#include "detail/loss_elementwise.hpp"
#include "detail/loss_softmax.hpp"

namespace fastpp::backend {

template <>
struct loss_kernels<cpu> : cpu_detail::SoftmaxKernels, cpu_detail::ElementwiseKernels {};

}  // namespace fastpp::backend
