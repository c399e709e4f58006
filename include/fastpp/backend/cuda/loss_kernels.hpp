#pragma once
// fastpp::backend::loss_kernels<cuda>: what loss/ calls on the GPU, forwarding to fastpp::cuda
// (losses.hpp, cross_entropy.hpp). Float only: loss/ computes half and bfloat16 losses in float, and the
// GPU has no double losses.
#include <concepts>
#include <cstdint>
#include <type_traits>

#include "../../core/device.hpp"
#include "../tables.hpp"
#include "cross_entropy.hpp"
#include "losses.hpp"

namespace fastpp::backend {

namespace cuda_detail {
template <class A>
inline constexpr bool gpu_loss_type = std::is_same_v<A, float>;
}

template <>
struct loss_kernels<fastpp::cuda> {
  template <class A>
  static void softmax(const A* x, std::int64_t rows, std::int64_t n, A* y) {
    static_assert(cuda_detail::gpu_loss_type<A>, "losses on the cuda device are computed in float");
    cuda_kernels::softmax(x, rows, n, y);
  }
  template <class A>
  static void log_softmax(const A* x, std::int64_t rows, std::int64_t n, A* y) {
    static_assert(cuda_detail::gpu_loss_type<A>, "losses on the cuda device are computed in float");
    cuda_kernels::log_softmax(x, rows, n, y);
  }
  template <class A>
  static void softmax_backward(const A* y, const A* dy, std::int64_t rows, std::int64_t n, A* dx) {
    static_assert(cuda_detail::gpu_loss_type<A>, "losses on the cuda device are computed in float");
    cuda_kernels::softmax_backward(y, dy, rows, n, dx);
  }
  template <class A>
  static void log_softmax_backward(const A* y, const A* dy, std::int64_t rows, std::int64_t n, A* dx) {
    static_assert(cuda_detail::gpu_loss_type<A>, "losses on the cuda device are computed in float");
    cuda_kernels::log_softmax_backward(y, dy, rows, n, dx);
  }
  template <class A>
  static void argmax(const A* x, std::int64_t rows, std::int64_t n, std::int64_t* out) {
    static_assert(cuda_detail::gpu_loss_type<A>, "losses on the cuda device are computed in float");
    cuda_kernels::argmax(x, rows, n, out);
  }
  template <class A>
  static void softmax_cross_entropy(const A* x, std::int64_t rows, std::int64_t n, const std::int64_t* target,
                                    std::int64_t ignore_index, const float* weight, double eps, double nll_divisor,
                                    double smooth_divisor, bool per_row, A* loss, A* lse, const A* grad, A* dx) {
    static_assert(cuda_detail::gpu_loss_type<A>, "losses on the cuda device are computed in float");
    cuda_kernels::softmax_cross_entropy(x, rows, n, target, ignore_index, weight, eps, nll_divisor, smooth_divisor,
                                        per_row, loss, lse, grad, dx);
  }
  static double scan_targets(const std::int64_t* t, std::int64_t rows, std::int64_t classes, std::int64_t ignore_index,
                             const float* weight, std::int64_t* bad_row, std::int64_t* bad_value) {
    return cuda_kernels::scan_targets(t, rows, classes, ignore_index, weight, bad_row, bad_value);
  }
  template <class I>
  static void widen_targets(const I* in, std::int64_t count, std::int64_t* out) {
    cuda_kernels::widen_targets(in, count, out);
  }
  template <class A>
  static void nll_loss(const A* logp, std::int64_t rows, std::int64_t n, const std::int64_t* t,
                       std::int64_t ignore_index, const float* weight, double divisor, bool per_row, A* loss) {
    static_assert(cuda_detail::gpu_loss_type<A>, "losses on the cuda device are computed in float");
    cuda_kernels::nll_loss(logp, rows, n, t, ignore_index, weight, divisor, per_row, loss);
  }
  template <class A>
  static void nll_loss_backward(std::int64_t rows, std::int64_t n, const std::int64_t* t, std::int64_t ignore_index,
                                const float* weight, double divisor, bool per_row, const A* grad, A* dlogp) {
    static_assert(cuda_detail::gpu_loss_type<A>, "losses on the cuda device are computed in float");
    cuda_kernels::nll_loss_backward(rows, n, t, ignore_index, weight, divisor, per_row, grad, dlogp);
  }
  template <class A>
  static void sigmoid(const A* x, std::int64_t count, A* y) {
    static_assert(cuda_detail::gpu_loss_type<A>, "losses on the cuda device are computed in float");
    cuda_kernels::sigmoid(x, count, y);
  }
  template <class A>
  static void sigmoid_backward(const A* y, const A* dy, std::int64_t count, A* dx) {
    static_assert(cuda_detail::gpu_loss_type<A>, "losses on the cuda device are computed in float");
    cuda_kernels::sigmoid_backward(y, dy, count, dx);
  }
  template <class A>
  static void bce_with_logits(const A* x, const A* y, std::int64_t count, std::int64_t n, const float* weight,
                              const float* pos_weight, double divisor, bool per_element, A* loss) {
    static_assert(cuda_detail::gpu_loss_type<A>, "losses on the cuda device are computed in float");
    cuda_kernels::bce_with_logits(x, y, count, n, weight, pos_weight, divisor, per_element, loss);
  }
  template <class A>
  static void bce_with_logits_backward(const A* x, const A* y, std::int64_t count, std::int64_t n, const float* weight,
                                       const float* pos_weight, double divisor, bool per_element, const A* grad,
                                       A* dx) {
    static_assert(cuda_detail::gpu_loss_type<A>, "losses on the cuda device are computed in float");
    cuda_kernels::bce_with_logits_backward(x, y, count, n, weight, pos_weight, divisor, per_element, grad, dx);
  }
};

}  // namespace fastpp::backend
