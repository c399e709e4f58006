#pragma once
// sigmoid and binary_cross_entropy_with_logits (the multi-label loss). Any shape; weight and pos_weight,
// when given, are per class along the last axis ([C]), as PyTorch broadcasts them. The loss uses the
// stable form max(x, 0) - x y + log(1 + exp(-|x|)), so logits of any magnitude give finite values.
#include "checks.hpp"

namespace fastpp {

template <FloatDType T, class D>
void sigmoid_out(const Tensor<T, D>& x, Tensor<T, D>& y) {
  check<ShapeError>(x.defined(), "sigmoid: the input tensor is undefined");
  loss_detail::check_shape("sigmoid", "y", y, x.shape());
  loss_detail::run_kernel([&](const auto* a, auto* b) { backend::loss_kernels<D>::sigmoid(a, x.numel(), b); }, y, x);
}
template <FloatDType T, class D>
Tensor<T, D> sigmoid(const Tensor<T, D>& x) {
  check<ShapeError>(x.defined(), "sigmoid: the input tensor is undefined");
  return loss_detail::filled<T, D>(x.shape(), [&](auto& y) { sigmoid_out(x, y); });
}
// dx = dy * y * (1 - y), from the sigmoid output y.
template <FloatDType T, class D>
void sigmoid_backward_out(const Tensor<T, D>& y, const Tensor<T, D>& dy, Tensor<T, D>& dx) {
  check<ShapeError>(y.defined(), "sigmoid_backward: the output tensor is undefined");
  loss_detail::check_shape("sigmoid_backward", "dy", dy, y.shape());
  loss_detail::check_shape("sigmoid_backward", "dx", dx, y.shape());
  loss_detail::run_kernel([&](const auto* a, const auto* b, auto* c) {
    backend::loss_kernels<D>::sigmoid_backward(a, b, y.numel(), c);
  }, dx, y, dy);
}
template <FloatDType T, class D>
Tensor<T, D> sigmoid_backward(const Tensor<T, D>& y, const Tensor<T, D>& dy) {
  check<ShapeError>(y.defined(), "sigmoid_backward: the output tensor is undefined");
  return loss_detail::filled<T, D>(y.shape(), [&](auto& dx) { sigmoid_backward_out(y, dy, dx); });
}

namespace loss_detail {
template <class T, class D>
void check_bce(const char* op, const Tensor<T, D>& x, const Tensor<T, D>& y, const BasicBceOptions<D>& o) {
  check<ShapeError>(x.defined(), op, ": the logits tensor is undefined");
  check_shape(op, "targets", y, x.shape());
  check_class_weight(op, o.weight, x.size(-1), "weight");
  check_class_weight(op, o.pos_weight, x.size(-1), "pos_weight");
}
// The loss has x's shape without reduction, [1] otherwise.
template <class T, class D>
Shape bce_loss_shape(const Tensor<T, D>& x, Reduction r) {
  return r == Reduction::none ? x.shape() : Shape{1};
}
// The divisor of the reduced loss: the element count for the mean.
inline double bce_divisor(Reduction r, std::int64_t numel) {
  return r == Reduction::mean ? static_cast<double>(numel) : 1.0;
}
}  // namespace loss_detail

// loss = w_j ((1 - y) x + (1 + (pw_j - 1) y) log(1 + exp(-x))), reduced by mean over all elements or sum.
template <FloatDType T, class D>
void binary_cross_entropy_with_logits_out(const Tensor<T, D>& x, const Tensor<T, D>& y, const BasicBceOptions<D>& o,
                                          Tensor<acc_t<T>, D>& loss) {
  const char* op = "binary_cross_entropy_with_logits";
  loss_detail::check_bce(op, x, y, o);
  loss_detail::check_shape(op, "loss", loss, loss_detail::bce_loss_shape(x, o.reduction));
  const auto xa = loss_detail::widened(x), ya = loss_detail::widened(y);
  backend::loss_kernels<D>::bce_with_logits(xa.data(), ya.data(), x.numel(), x.size(-1),
                                            loss_detail::data_or_null(o.weight), loss_detail::data_or_null(o.pos_weight),
                                            loss_detail::bce_divisor(o.reduction, x.numel()),
                                            o.reduction == Reduction::none, loss.data());
}
template <FloatDType T, class D>
Tensor<acc_t<T>, D> binary_cross_entropy_with_logits(const Tensor<T, D>& x, const Tensor<T, D>& y,
                                                     const BasicBceOptions<D>& o = {}) {
  check<ShapeError>(x.defined(), "binary_cross_entropy_with_logits: the logits tensor is undefined");
  return loss_detail::filled<acc_t<T>, D>(loss_detail::bce_loss_shape(x, o.reduction),
                                         [&](auto& loss) { binary_cross_entropy_with_logits_out(x, y, o, loss); });
}

// dx = w_j ((1 - y) - (1 + (pw_j - 1) y) sigmoid(-x)) * grad (/ numel for the mean); grad has the loss's shape.
template <FloatDType T, class D>
void binary_cross_entropy_with_logits_backward_out(const Tensor<T, D>& x, const Tensor<T, D>& y,
                                                   const BasicBceOptions<D>& o, const Tensor<acc_t<T>, D>& grad,
                                                   Tensor<T, D>& dx) {
  const char* op = "binary_cross_entropy_with_logits_backward";
  loss_detail::check_bce(op, x, y, o);
  loss_detail::check_shape(op, "grad", grad, loss_detail::bce_loss_shape(x, o.reduction));
  loss_detail::check_shape(op, "dx", dx, x.shape());
  loss_detail::run_kernel([&](const auto* a, const auto* b, auto* c) {
    backend::loss_kernels<D>::bce_with_logits_backward(
        a, b, x.numel(), x.size(-1), loss_detail::data_or_null(o.weight), loss_detail::data_or_null(o.pos_weight),
        loss_detail::bce_divisor(o.reduction, x.numel()), o.reduction == Reduction::none, grad.data(), c);
  }, dx, x, y);
}
template <FloatDType T, class D>
Tensor<T, D> binary_cross_entropy_with_logits_backward(const Tensor<T, D>& x, const Tensor<T, D>& y,
                                                       const BasicBceOptions<D>& o, const Tensor<acc_t<T>, D>& grad) {
  check<ShapeError>(x.defined(), "binary_cross_entropy_with_logits_backward: the logits tensor is undefined");
  return loss_detail::filled<T, D>(x.shape(),
                                  [&](auto& dx) { binary_cross_entropy_with_logits_backward_out(x, y, o, grad, dx); });
}

}  // namespace fastpp
