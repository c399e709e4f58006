#pragma once
// The cpu loss kernels: every loop over data that loss/ runs, for float and double (half and bfloat16
// are computed in float by loss/). Plain static functions over raw pointers and sizes, so a device
// written for a test can forward each one and count its calls. Arrays are row-major [rows, n], class
// indices int64 ([rows]), class weights float ([n] or null). Float rows run AVX2 + FMA code where the
// CPU has it (checked once at run time, detail/loss_blocks.hpp), portable code elsewhere; reductions are
// summed in double in blocks fixed by the row length, so results do not depend on the thread count.
#include "../kernels.hpp"
#include "detail/loss_elementwise.hpp"
#include "detail/loss_softmax.hpp"

namespace fastpp::backend {

template <>
struct loss_kernels<cpu> {
#define FASTPP_LOSS_KERNELS(A)                                                                                   \
  static void softmax(const A* x, std::int64_t rows, std::int64_t n, A* y) { cpu_detail::softmax(x, rows, n, y); } \
  static void log_softmax(const A* x, std::int64_t rows, std::int64_t n, A* y) {                                 \
    cpu_detail::log_softmax(x, rows, n, y);                                                                      \
  }                                                                                                              \
  static void softmax_backward(const A* y, const A* dy, std::int64_t rows, std::int64_t n, A* dx) {              \
    cpu_detail::rows_backward(false, y, dy, rows, n, dx);                                                        \
  }                                                                                                              \
  static void log_softmax_backward(const A* y, const A* dy, std::int64_t rows, std::int64_t n, A* dx) {          \
    cpu_detail::rows_backward(true, y, dy, rows, n, dx);                                                         \
  }                                                                                                              \
  static void argmax(const A* x, std::int64_t rows, std::int64_t n, std::int64_t* out) {                         \
    cpu_detail::argmax(x, rows, n, out);                                                                         \
  }                                                                                                              \
  static void softmax_cross_entropy(const A* x, std::int64_t rows, std::int64_t n, const std::int64_t* target,   \
                                    std::int64_t ignore_index, const float* weight, double eps, double nll_divisor, \
                                    double smooth_divisor, bool per_row, A* loss, A* lse, const A* grad, A* dx) { \
    cpu_detail::softmax_cross_entropy(x, rows, n, target, ignore_index, weight, eps, nll_divisor, smooth_divisor, \
                                      per_row, loss, lse, grad, dx);                                             \
  }                                                                                                              \
  static void nll_loss(const A* logp, std::int64_t rows, std::int64_t n, const std::int64_t* target,             \
                       std::int64_t ignore_index, const float* weight, double divisor, bool per_row, A* loss) {  \
    cpu_detail::nll_loss(logp, rows, n, target, ignore_index, weight, divisor, per_row, loss);                   \
  }                                                                                                              \
  static void nll_loss_backward(std::int64_t rows, std::int64_t n, const std::int64_t* target,                   \
                                std::int64_t ignore_index, const float* weight, double divisor, bool per_row,    \
                                const A* grad, A* dlogp) {                                                       \
    cpu_detail::nll_loss_backward(rows, n, target, ignore_index, weight, divisor, per_row, grad, dlogp);         \
  }                                                                                                              \
  static void sigmoid(const A* x, std::int64_t count, A* y) { cpu_detail::sigmoid(x, count, y); }                \
  static void sigmoid_backward(const A* y, const A* dy, std::int64_t count, A* dx) {                             \
    cpu_detail::sigmoid_backward(y, dy, count, dx);                                                              \
  }                                                                                                              \
  static void bce_with_logits(const A* x, const A* y, std::int64_t count, std::int64_t n, const float* weight,   \
                              const float* pos_weight, double divisor, bool per_element, A* loss) {              \
    cpu_detail::bce_with_logits(x, y, count, n, weight, pos_weight, divisor, per_element, loss);                 \
  }                                                                                                              \
  static void bce_with_logits_backward(const A* x, const A* y, std::int64_t count, std::int64_t n,               \
                                       const float* weight, const float* pos_weight, double divisor,             \
                                       bool per_element, const A* grad, A* dx) {                                 \
    cpu_detail::bce_with_logits_backward(x, y, count, n, weight, pos_weight, divisor, per_element, grad, dx);    \
  }
  FASTPP_LOSS_KERNELS(float)
  FASTPP_LOSS_KERNELS(double)
#undef FASTPP_LOSS_KERNELS

  // Class-index targets: the total weight of the rows that count, and the first bad target (row -1 if none).
  static double scan_targets(const std::int64_t* target, std::int64_t rows, std::int64_t classes,
                             std::int64_t ignore_index, const float* weight, std::int64_t* bad_row,
                             std::int64_t* bad_value) {
    return cpu_detail::scan_targets(target, rows, classes, ignore_index, weight, bad_row, bad_value);
  }
  static void widen_targets(const std::int32_t* in, std::int64_t count, std::int64_t* out) {
    cpu_detail::widen_targets(in, count, out);
  }
  static void widen_targets(const std::uint8_t* in, std::int64_t count, std::int64_t* out) {
    cpu_detail::widen_targets(in, count, out);
  }
};

}  // namespace fastpp::backend
