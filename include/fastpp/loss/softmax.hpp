#pragma once
// softmax and log_softmax over the class axis of [N, C] logits, forward and backward. Each has an `_out`
// form that writes into tensors the caller owns (a training loop reuses them) and an allocating form.
// Every loop runs in backend::loss_kernels<D> for the tensors' device D.
#include "storage.hpp"

namespace fastpp {

namespace loss_detail {
// y = f(x) row by row: checks before the kernel writes anything.
template <class T, class D>
void check_rows_out(const char* op, const Tensor<T, D>& x, const Tensor<T, D>& y) {
  check_logits(op, x);
  check_shape(op, "y", y, x.shape());
  check_no_overlap(op, "y", y, "x", x);
}
// dx = f(y, dy) row by row.
template <class T, class D>
void check_rows_backward(const char* op, const Tensor<T, D>& y, const Tensor<T, D>& dy, const Tensor<T, D>& dx) {
  check_logits(op, y);
  check_shape(op, "dy", dy, y.shape());
  check_shape(op, "dx", dx, y.shape());
  check_no_overlap(op, "dx", dx, "y", y);
  check_no_overlap(op, "dx", dx, "dy", dy);
}
template <class T, class D>
Tensor<T, D> empty_like_logits(const char* op, const Tensor<T, D>& x) {
  check_logits(op, x);
  return Tensor<T, D>::empty(x.shape());
}
}  // namespace loss_detail

// y = softmax(x) along axis 1.
template <FloatDType T, class D>
void softmax_out(const Tensor<T, D>& x, Tensor<T, D>& y) {
  loss_detail::check_rows_out("softmax", x, y);
  loss_detail::run_kernel([&](const auto* a, auto* b) { backend::loss_kernels<D>::softmax(a, x.size(0), x.size(1), b); },
                          y, x);
}
template <FloatDType T, class D>
Tensor<T, D> softmax(const Tensor<T, D>& x) {
  auto y = loss_detail::empty_like_logits("softmax", x);
  softmax_out(x, y);
  return y;
}

// dx = y * (dy - sum_j dy_j y_j), from the softmax output y.
template <FloatDType T, class D>
void softmax_backward_out(const Tensor<T, D>& y, const Tensor<T, D>& dy, Tensor<T, D>& dx) {
  loss_detail::check_rows_backward("softmax_backward", y, dy, dx);
  loss_detail::run_kernel([&](const auto* a, const auto* b, auto* c) {
    backend::loss_kernels<D>::softmax_backward(a, b, y.size(0), y.size(1), c);
  }, dx, y, dy);
}
template <FloatDType T, class D>
Tensor<T, D> softmax_backward(const Tensor<T, D>& y, const Tensor<T, D>& dy) {
  auto dx = loss_detail::empty_like_logits("softmax_backward", y);
  softmax_backward_out(y, dy, dx);
  return dx;
}

// y = x - logsumexp(x) along axis 1, formed as (x - max) - log(sum exp(x - max)): exact far from zero too.
template <FloatDType T, class D>
void log_softmax_out(const Tensor<T, D>& x, Tensor<T, D>& y) {
  loss_detail::check_rows_out("log_softmax", x, y);
  loss_detail::run_kernel(
      [&](const auto* a, auto* b) { backend::loss_kernels<D>::log_softmax(a, x.size(0), x.size(1), b); }, y, x);
}
template <FloatDType T, class D>
Tensor<T, D> log_softmax(const Tensor<T, D>& x) {
  auto y = loss_detail::empty_like_logits("log_softmax", x);
  log_softmax_out(x, y);
  return y;
}

// dx = dy - exp(y) * sum_j dy_j, from the log_softmax output y.
template <FloatDType T, class D>
void log_softmax_backward_out(const Tensor<T, D>& y, const Tensor<T, D>& dy, Tensor<T, D>& dx) {
  loss_detail::check_rows_backward("log_softmax_backward", y, dy, dx);
  loss_detail::run_kernel([&](const auto* a, const auto* b, auto* c) {
    backend::loss_kernels<D>::log_softmax_backward(a, b, y.size(0), y.size(1), c);
  }, dx, y, dy);
}
template <FloatDType T, class D>
Tensor<T, D> log_softmax_backward(const Tensor<T, D>& y, const Tensor<T, D>& dy) {
  auto dx = loss_detail::empty_like_logits("log_softmax_backward", y);
  log_softmax_backward_out(y, dy, dx);
  return dx;
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
