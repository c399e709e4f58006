#pragma once
// sigmoid and binary_cross_entropy_with_logits (the multi-label loss). Any shape; weight and pos_weight,
// when given, are per class along the last axis ([C]), as PyTorch broadcasts them. The loss uses the
// stable form max(x, 0) - x y + log(1 + exp(-|x|)), so logits of any magnitude give finite values.
#include "checks.hpp"
#include "row_blocks.hpp"
#include "row_math.hpp"

namespace fastpp {

namespace loss_detail {
// Views any tensor as [M, C] rows of its last axis.
template <class T>
std::int64_t last_dim(const Tensor<T>& x) {
  return x.size(-1);
}
}  // namespace loss_detail

template <FloatDType T>
void sigmoid_out(const Tensor<T>& x, Tensor<T>& y) {
  check<ShapeError>(x.defined(), "sigmoid: the input tensor is undefined");
  loss_detail::check_out("sigmoid", "y", y, x.shape());
  const T* px = x.data();
  T* py = y.data();
  fastpp::parallel_for(0, x.numel(), 16384, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) py[i] = static_cast<T>(loss_math::sigmoid(static_cast<acc_t<T>>(px[i])));
  });
}
template <FloatDType T>
Tensor<T> sigmoid(const Tensor<T>& x) {
  check<ShapeError>(x.defined(), "sigmoid: the input tensor is undefined");
  auto y = Tensor<T>::empty(x.shape());
  sigmoid_out(x, y);
  return y;
}
// dx = dy * y * (1 - y), from the sigmoid output y.
template <FloatDType T>
void sigmoid_backward_out(const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>& dx) {
  check<ShapeError>(y.defined(), "sigmoid_backward: the output tensor is undefined");
  loss_detail::check_same_shape("sigmoid_backward", "dy", dy, "y", y.shape());
  loss_detail::check_out("sigmoid_backward", "dx", dx, y.shape());
  const T *py = y.data(), *pdy = dy.data();
  T* pdx = dx.data();
  fastpp::parallel_for(0, y.numel(), 16384, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) {
      const acc_t<T> v = static_cast<acc_t<T>>(py[i]);
      pdx[i] = static_cast<T>(static_cast<acc_t<T>>(pdy[i]) * v * (acc_t<T>(1) - v));
    }
  });
}
template <FloatDType T>
Tensor<T> sigmoid_backward(const Tensor<T>& y, const Tensor<T>& dy) {
  check<ShapeError>(y.defined(), "sigmoid_backward: the output tensor is undefined");
  auto dx = Tensor<T>::empty(y.shape());
  sigmoid_backward_out(y, dy, dx);
  return dx;
}

namespace loss_detail {
template <class T>
void check_bce(const char* op, const Tensor<T>& x, const Tensor<T>& y, const BceOptions& o) {
  check<ShapeError>(x.defined(), op, ": the logits tensor is undefined");
  check_same_shape(op, "targets", y, "logits", x.shape());
  check_class_weight(op, o.weight, last_dim(x), "weight");
  check_class_weight(op, o.pos_weight, last_dim(x), "pos_weight");
}
// The loss has x's shape without reduction, [1] otherwise.
template <class T>
Shape bce_loss_shape(const Tensor<T>& x, Reduction r) {
  return r == Reduction::none ? x.shape() : Shape{1};
}
}  // namespace loss_detail

// loss = w_j ((1 - y) x + (1 + (pw_j - 1) y) log(1 + exp(-x))), reduced by mean over all elements or sum.
template <FloatDType T>
void binary_cross_entropy_with_logits_out(const Tensor<T>& x, const Tensor<T>& y, const BceOptions& o,
                                          Tensor<acc_t<T>>& loss) {
  using A = acc_t<T>;
  const char* op = "binary_cross_entropy_with_logits";
  loss_detail::check_bce(op, x, y, o);
  loss_detail::check_out(op, "loss", loss, loss_detail::bce_loss_shape(x, o.reduction));
  const std::int64_t c = loss_detail::last_dim(x), rows = c == 0 ? 0 : x.numel() / c;
  const T *px = x.data(), *py = y.data();
  const float* w = o.weight.defined() ? o.weight.data() : nullptr;
  const float* pw = o.pos_weight.defined() ? o.pos_weight.data() : nullptr;
  A* out = o.reduction == Reduction::none ? loss.data() : nullptr;
  const auto sums = loss_detail::for_row_blocks(rows, c, [&](std::int64_t r0, std::int64_t r1) {
    loss_detail::BlockSums s;
    for (std::int64_t i = r0 * c; i < r1 * c; ++i) {
      const std::int64_t j = i % c;
      const A l = loss_math::bce_with_logits(static_cast<A>(px[i]), static_cast<A>(py[i]), w ? A(w[j]) : A(1),
                                             pw ? A(pw[j]) : A(1));
      if (out) out[i] = l;
      s.a += static_cast<double>(l);
    }
    return s;
  });
  if (o.reduction == Reduction::mean) loss.data()[0] = static_cast<A>(sums.a / static_cast<double>(x.numel()));
  if (o.reduction == Reduction::sum) loss.data()[0] = static_cast<A>(sums.a);
}
template <FloatDType T>
Tensor<acc_t<T>> binary_cross_entropy_with_logits(const Tensor<T>& x, const Tensor<T>& y, const BceOptions& o = {}) {
  check<ShapeError>(x.defined(), "binary_cross_entropy_with_logits: the logits tensor is undefined");
  auto loss = Tensor<acc_t<T>>::empty(loss_detail::bce_loss_shape(x, o.reduction));
  binary_cross_entropy_with_logits_out(x, y, o, loss);
  return loss;
}

// dx = w_j ((1 - y) - (1 + (pw_j - 1) y) sigmoid(-x)) * grad (/ numel for the mean); grad has the loss's shape.
template <FloatDType T>
void binary_cross_entropy_with_logits_backward_out(const Tensor<T>& x, const Tensor<T>& y, const BceOptions& o,
                                                   const Tensor<acc_t<T>>& grad, Tensor<T>& dx) {
  using A = acc_t<T>;
  const char* op = "binary_cross_entropy_with_logits_backward";
  loss_detail::check_bce(op, x, y, o);
  loss_detail::check_same_shape(op, "grad", grad, "loss", loss_detail::bce_loss_shape(x, o.reduction));
  loss_detail::check_out(op, "dx", dx, x.shape());
  const std::int64_t c = loss_detail::last_dim(x);
  const T *px = x.data(), *py = y.data();
  const A* g = grad.data();
  const bool per_element = o.reduction == Reduction::none;
  const A scale = o.reduction == Reduction::mean ? static_cast<A>(static_cast<double>(g[0]) / static_cast<double>(x.numel()))
                                                 : g[0];
  const float* w = o.weight.defined() ? o.weight.data() : nullptr;
  const float* pw = o.pos_weight.defined() ? o.pos_weight.data() : nullptr;
  T* pdx = dx.data();
  fastpp::parallel_for(0, x.numel(), 16384, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) {
      const std::int64_t j = i % c;
      const A d = loss_math::bce_with_logits_grad(static_cast<A>(px[i]), static_cast<A>(py[i]), w ? A(w[j]) : A(1),
                                                  pw ? A(pw[j]) : A(1));
      pdx[i] = static_cast<T>(d * (per_element ? g[i] : scale));
    }
  });
}
template <FloatDType T>
Tensor<T> binary_cross_entropy_with_logits_backward(const Tensor<T>& x, const Tensor<T>& y, const BceOptions& o,
                                                    const Tensor<acc_t<T>>& grad) {
  check<ShapeError>(x.defined(), "binary_cross_entropy_with_logits_backward: the logits tensor is undefined");
  auto dx = Tensor<T>::empty(x.shape());
  binary_cross_entropy_with_logits_backward_out(x, y, o, grad, dx);
  return dx;
}

}  // namespace fastpp
