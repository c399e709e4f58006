#pragma once
// sigmoid and binary_cross_entropy_with_logits (the multi-label loss). Any shape; weight and pos_weight,
// when given, are per class along the last axis ([C]), as PyTorch broadcasts them. The loss uses the
// stable form max(x, 0) - x y + log(1 + exp(-|x|)), so logits of any magnitude give finite values.
#include "checks.hpp"

namespace fastpp {

template <FloatDType T, class D>
Tensor<T, D> sigmoid(const Tensor<T, D>& x) {
  auto y = Tensor<T, D>::empty(loss_detail::defined_shape("sigmoid", "input", x));
  loss_detail::run_kernel([&](const auto* a, auto* b) { backend::loss_kernels<D>::sigmoid(a, x.numel(), b); }, y, x);
  return y;
}
// dx = dy * y * (1 - y), from the sigmoid output y.
template <FloatDType T, class D>
Tensor<T, D> sigmoid_backward(const Tensor<T, D>& y, const Tensor<T, D>& dy) {
  auto dx = Tensor<T, D>::empty(loss_detail::defined_shape("sigmoid_backward", "output", y));
  loss_detail::check_shape("sigmoid_backward", "dy", dy, y.shape());
  loss_detail::run_kernel([&](const auto* a, const auto* b, auto* c) {
    backend::loss_kernels<D>::sigmoid_backward(a, b, y.numel(), c);
  }, dx, y, dy);
  return dx;
}

namespace loss_detail {
// The targets, checked: shaped like the logits, of their dtype and on their device (any other type stops
// the build here, as in class_indices).
template <class T, class D, class Y>
Tensor<T, D> checked_bce_targets(const char* op, const Tensor<T, D>& x, const Y& y, const BasicBceOptions<D>& o) {
  static_assert(std::is_same_v<Y, Tensor<T, D>>,
                "binary_cross_entropy_with_logits takes targets of the logits' dtype on their device: convert them "
                "first (targets.cast<float>(), .to<Device>()); for class indices use cross_entropy");
  if constexpr (!std::is_same_v<Y, Tensor<T, D>>) {
    return {};
  } else {
    check_shape(op, "targets", y, defined_shape(op, "logits", x));
    check_class_weight(op, o.weight, x.size(-1), "weight");
    check_class_weight(op, o.pos_weight, x.size(-1), "pos_weight");
    return y;
  }
}
// The loss has x's shape without reduction, [1] otherwise; its mean divides by the element count.
template <class T, class D>
Shape bce_loss_shape(const char* op, const Tensor<T, D>& x, Reduction r) {
  return r == Reduction::none ? defined_shape(op, "logits", x) : Shape{1};
}
}  // namespace loss_detail

// loss = w_j ((1 - y) x + (1 + (pw_j - 1) y) log(1 + exp(-x))), reduced by mean over all elements or sum.
template <FloatDType T, class D, class Y>
Tensor<acc_t<T>, D> binary_cross_entropy_with_logits(const Tensor<T, D>& x, const Y& targets,
                                                     const BasicBceOptions<D>& o = {}) {
  const char* op = "binary_cross_entropy_with_logits";
  const auto y = loss_detail::checked_bce_targets(op, x, targets, o);
  auto loss = Tensor<acc_t<T>, D>::empty(loss_detail::bce_loss_shape(op, x, o.reduction));
  const auto xa = loss_detail::widened(x), ya = loss_detail::widened(y);
  backend::loss_kernels<D>::bce_with_logits(
      xa.data(), ya.data(), x.numel(), x.size(-1), loss_detail::data_or_null(o.weight),
      loss_detail::data_or_null(o.pos_weight), loss_detail::divisor_of(o.reduction, static_cast<double>(x.numel())),
      o.reduction == Reduction::none, loss.data());
  return loss;
}

// dx = w_j ((1 - y) - (1 + (pw_j - 1) y) sigmoid(-x)) * grad (/ numel for the mean); grad has the loss's shape.
template <FloatDType T, class D, class Y>
void binary_cross_entropy_with_logits_backward_out(const Tensor<T, D>& x, const Y& targets,
                                                   const BasicBceOptions<D>& o, const Tensor<acc_t<T>, D>& grad,
                                                   Tensor<T, D>& dx) {
  const char* op = "binary_cross_entropy_with_logits_backward";
  const auto y = loss_detail::checked_bce_targets(op, x, targets, o);
  loss_detail::check_shape(op, "grad", grad, loss_detail::bce_loss_shape(op, x, o.reduction));
  loss_detail::check_shape(op, "dx", dx, x.shape());
  loss_detail::run_kernel([&](const auto* a, const auto* b, auto* c) {
    backend::loss_kernels<D>::bce_with_logits_backward(
        a, b, x.numel(), x.size(-1), loss_detail::data_or_null(o.weight), loss_detail::data_or_null(o.pos_weight),
        loss_detail::divisor_of(o.reduction, static_cast<double>(x.numel())), o.reduction == Reduction::none, grad.data(), c);
  }, dx, x, y);
}
template <FloatDType T, class D, class Y>
Tensor<T, D> binary_cross_entropy_with_logits_backward(const Tensor<T, D>& x, const Y& targets,
                                                       const BasicBceOptions<D>& o, const Tensor<acc_t<T>, D>& grad) {
  auto dx = Tensor<T, D>::empty(x.shape());  // x is checked before dx is written
  binary_cross_entropy_with_logits_backward_out(x, targets, o, grad, dx);
  return dx;
}

}  // namespace fastpp
