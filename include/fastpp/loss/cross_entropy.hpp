#pragma once
// cross_entropy = nll_loss(log_softmax(x)), fused, in the kernel it shares with label smoothing
// (label_smoothing.hpp): one pass over each row gives its loss and logsumexp, and its gradient when asked
// (cross_entropy_forward_backward_out: the training step). Options and reductions are nll_loss's.
// The two-pass backward checks the shape of the lse the forward saved but recomputes each row's maximum
// and sum from x: near 1e4 a float lse's rounding alone is 5e-4 relative, while x - max is exact.
#include "nll.hpp"

namespace fastpp {

namespace loss_detail {
// Which outputs a softmax-loss call writes (null: not wanted) and what it reads for the gradient.
template <class T, class D>
struct SoftmaxLossIo {
  Tensor<acc_t<T>, D>* loss = nullptr;             // [N] or [1]
  Tensor<acc_t<T>, D>* lse = nullptr;              // [N]
  const Tensor<acc_t<T>, D>* saved_lse = nullptr;  // [N], shape-checked (see above)
  const Tensor<acc_t<T>, D>* grad = nullptr;       // the loss's shape
  Tensor<T, D>* dx = nullptr;                      // [N, C]
};

// Cross-entropy with label smoothing eps (0: plain cross-entropy), fastai's formula: see
// backend/cpu/detail/loss_softmax.hpp. Every check runs before any output is written.
template <class T, class D, class I>
void softmax_loss(const char* op, const Tensor<T, D>& x, const Tensor<I, D>& target, const Tensor<float, D>& weight,
                  std::int64_t ignore_index, Reduction r, double eps, const SoftmaxLossIo<T, D>& io) {
  check<ValueError>(eps >= 0.0 && eps <= 1.0, op, ": eps must be in [0, 1], got ", eps);
  const auto ct = checked_targets(op, x, target, ignore_index, weight);
  const std::int64_t n = x.size(0), c = x.size(1);
  if (io.loss) check_shape(op, "loss", *io.loss, loss_shape(r, n));
  if (io.lse) check_shape(op, "lse", *io.lse, Shape{n});
  if (io.saved_lse) check_shape(op, "lse", *io.saved_lse, Shape{n});
  if (io.grad) check_shape(op, "grad", *io.grad, loss_shape(r, n));
  if (io.dx) {
    check_shape(op, "dx", *io.dx, x.shape());
    check_no_overlap(op, "dx", *io.dx, "x", x);
  }
  const auto ptr = [](auto* tensor) { return tensor ? tensor->data() : nullptr; };
  const auto call = [&](const acc_t<T>* xp, acc_t<T>* dxp) {
    backend::loss_kernels<D>::softmax_cross_entropy(
        xp, n, c, ct.t.data(), ignore_index, data_or_null(weight), eps, divisor_of(r, ct.total),
        r == Reduction::mean ? static_cast<double>(n) : 1.0, r == Reduction::none, ptr(io.loss), ptr(io.lse),
        ptr(io.grad), dxp);
  };
  if (io.dx) run_kernel(call, *io.dx, x);
  else call(widened(x).data(), nullptr);
}
}  // namespace loss_detail

// Forward into caller-owned tensors: loss ([N] for Reduction::none, else [1]) and lse ([N]).
template <FloatDType T, class D, class I>
void cross_entropy_out(const Tensor<T, D>& x, const Tensor<I, D>& target, const BasicNllOptions<D>& o,
                       Tensor<acc_t<T>, D>& loss, Tensor<acc_t<T>, D>& lse) {
  loss_detail::softmax_loss("cross_entropy", x, target, o.weight, o.ignore_index, o.reduction, 0.0,
                            {.loss = &loss, .lse = &lse});
}

// The loss alone ([N] or [1]).
template <FloatDType T, class D, class I>
Tensor<acc_t<T>, D> cross_entropy(const Tensor<T, D>& x, const Tensor<I, D>& target, const BasicNllOptions<D>& o = {}) {
  loss_detail::check_logits("cross_entropy", x);
  auto loss = Tensor<acc_t<T>, D>::empty(loss_detail::loss_shape(o.reduction, x.size(0)));
  loss_detail::softmax_loss("cross_entropy", x, target, o.weight, o.ignore_index, o.reduction, 0.0, {.loss = &loss});
  return loss;
}

// dx = (softmax(x) - onehot(t)) * w_t * grad (/ total weight for the mean). grad has the loss's shape;
// dx must not share memory with x.
template <FloatDType T, class D, class I>
void cross_entropy_backward_out(const Tensor<T, D>& x, const Tensor<I, D>& target, const BasicNllOptions<D>& o,
                                const Tensor<acc_t<T>, D>& lse, const Tensor<acc_t<T>, D>& grad, Tensor<T, D>& dx) {
  loss_detail::softmax_loss("cross_entropy_backward", x, target, o.weight, o.ignore_index, o.reduction, 0.0,
                            {.saved_lse = &lse, .grad = &grad, .dx = &dx});
}
template <FloatDType T, class D, class I>
Tensor<T, D> cross_entropy_backward(const Tensor<T, D>& x, const Tensor<I, D>& target, const BasicNllOptions<D>& o,
                                    const Tensor<acc_t<T>, D>& lse, const Tensor<acc_t<T>, D>& grad) {
  loss_detail::check_logits("cross_entropy_backward", x);
  return loss_detail::filled<T, D>(x.shape(),
                                  [&](auto& dx) { cross_entropy_backward_out(x, target, o, lse, grad, dx); });
}

// Loss and gradient in one pass over the logits (each row is read once and its gradient written while
// the row is in the L1 cache). grad, the upstream gradient, has the loss's shape.
template <FloatDType T, class D, class I>
void cross_entropy_forward_backward_out(const Tensor<T, D>& x, const Tensor<I, D>& target,
                                        const BasicNllOptions<D>& o, const Tensor<acc_t<T>, D>& grad,
                                        Tensor<acc_t<T>, D>& loss, Tensor<T, D>& dx) {
  loss_detail::softmax_loss("cross_entropy_forward_backward", x, target, o.weight, o.ignore_index, o.reduction, 0.0,
                            {.loss = &loss, .grad = &grad, .dx = &dx});
}

}  // namespace fastpp
