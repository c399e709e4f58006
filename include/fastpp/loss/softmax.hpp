#pragma once
// softmax and log_softmax over the class axis of [N, C] logits, forward and backward. Each has an `_out`
// form that writes into tensors the caller owns (a training loop reuses them) and an allocating form.
// Every loop runs in backend::loss_kernels<D> for the tensors' device D.
#include "checks.hpp"

namespace fastpp {

namespace loss_detail {
// y = softmax(x), or log_softmax(x) when Log, row by row into *out (a fresh tensor when null), returned.
// Every check runs before the kernel writes anything.
template <bool Log, class T, class D>
Tensor<T, D> rows_forward(const char* op, const Tensor<T, D>& x, Tensor<T, D>* out = nullptr) {
  check_logits(op, x);
  auto y = out ? *out : Tensor<T, D>::empty(x.shape());  // a handle: writing y writes *out
  check_shape(op, "y", y, x.shape());
  check_no_overlap(op, "y", y, "x", x);
  run_kernel([&](const auto* a, auto* b) {
    if constexpr (Log) backend::loss_kernels<D>::log_softmax(a, x.size(0), x.size(1), b);
    else backend::loss_kernels<D>::softmax(a, x.size(0), x.size(1), b);
  }, y, x);
  return y;
}
// Their backwards: dx from the forward's output y and its gradient dy.
template <bool Log, class T, class D>
Tensor<T, D> rows_backward(const char* op, const Tensor<T, D>& y, const Tensor<T, D>& dy, Tensor<T, D>* out = nullptr) {
  check_logits(op, y);
  auto dx = out ? *out : Tensor<T, D>::empty(y.shape());
  check_shape(op, "dy", dy, y.shape());
  check_shape(op, "dx", dx, y.shape());
  check_no_overlap(op, "dx", dx, "y", y);
  check_no_overlap(op, "dx", dx, "dy", dy);
  run_kernel([&](const auto* a, const auto* b, auto* c) {
    if constexpr (Log) backend::loss_kernels<D>::log_softmax_backward(a, b, y.size(0), y.size(1), c);
    else backend::loss_kernels<D>::softmax_backward(a, b, y.size(0), y.size(1), c);
  }, dx, y, dy);
  return dx;
}
}  // namespace loss_detail

// y = softmax(x) along axis 1.
template <FloatDType T, class D>
void softmax_out(const Tensor<T, D>& x, Tensor<T, D>& y) { loss_detail::rows_forward<false>("softmax", x, &y); }
template <FloatDType T, class D>
Tensor<T, D> softmax(const Tensor<T, D>& x) { return loss_detail::rows_forward<false>("softmax", x); }

// dx = y * (dy - sum_j dy_j y_j), from the softmax output y.
template <FloatDType T, class D>
void softmax_backward_out(const Tensor<T, D>& y, const Tensor<T, D>& dy, Tensor<T, D>& dx) {
  loss_detail::rows_backward<false>("softmax_backward", y, dy, &dx);
}
template <FloatDType T, class D>
Tensor<T, D> softmax_backward(const Tensor<T, D>& y, const Tensor<T, D>& dy) {
  return loss_detail::rows_backward<false>("softmax_backward", y, dy);
}

// y = x - logsumexp(x) along axis 1, formed as (x - max) - log(sum exp(x - max)): exact far from zero too.
template <FloatDType T, class D>
void log_softmax_out(const Tensor<T, D>& x, Tensor<T, D>& y) { loss_detail::rows_forward<true>("log_softmax", x, &y); }
template <FloatDType T, class D>
Tensor<T, D> log_softmax(const Tensor<T, D>& x) { return loss_detail::rows_forward<true>("log_softmax", x); }

// dx = dy - exp(y) * sum_j dy_j, from the log_softmax output y.
template <FloatDType T, class D>
void log_softmax_backward_out(const Tensor<T, D>& y, const Tensor<T, D>& dy, Tensor<T, D>& dx) {
  loss_detail::rows_backward<true>("log_softmax_backward", y, dy, &dx);
}
template <FloatDType T, class D>
Tensor<T, D> log_softmax_backward(const Tensor<T, D>& y, const Tensor<T, D>& dy) {
  return loss_detail::rows_backward<true>("log_softmax_backward", y, dy);
}

// Index of the largest value of each row (the first one on ties), as fastai's decodes for
// CrossEntropyLossFlat: predicted classes from logits or probabilities.
template <FloatDType T, class D>
Tensor<std::int64_t, D> argmax(const Tensor<T, D>& x) {
  loss_detail::check_logits("argmax", x);
  auto out = Tensor<std::int64_t, D>::empty({x.size(0)});
  backend::loss_kernels<D>::argmax(loss_detail::widened(x).data(), x.size(0), x.size(1), out.data());
  return out;
}

}  // namespace fastpp
