#pragma once
// cross_entropy = nll_loss(log_softmax(x)), fused; with LabelSmoothingOptions, fastai's
// LabelSmoothingCrossEntropy (fastai/losses.py), eps = 0 being plain cross-entropy. lp = log_softmax(x), C classes:
//   loss = eps / C * reduce_i(-sum_j lp_ij) + (1 - eps) * nll_loss(lp, t, weight, reduction)
// The smoothing term has no weights and ignores no row; the NLL term is nll_loss's (ignore_index -100 for
// label smoothing), as fastai composes them. One pass over each row gives its loss and logsumexp, and its
// gradient when asked (the *_forward_backward_out functions: the training step). The two-pass backwards
// check the shape of the lse the forward saved but recompute each row's maximum and sum from x: near 1e4 a
// float lse's rounding alone is 5e-4 relative, while x - max is exact.
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

// The kernel's call (backend/cpu/loss_kernels.hpp has the formulas): options without eps (NllOptions) are
// plain cross-entropy, without ignore_index (LabelSmoothingOptions) keep fastai's -100.
template <class T, class D, class Targets, class O>
void softmax_loss(const char* op, const Tensor<T, D>& x, const Targets& target, const O& o,
                  const SoftmaxLossIo<T, D>& io) {
  double eps = 0.0;
  std::int64_t ignore_index = -100;
  if constexpr (requires { o.eps; }) eps = o.eps;
  if constexpr (requires { o.ignore_index; }) ignore_index = o.ignore_index;
  const Reduction r = o.reduction;
  check<ValueError>(eps >= 0.0 && eps <= 1.0, op, ": eps must be in [0, 1], got ", eps);
  const auto ct = checked_targets(op, x, target, ignore_index, o.weight);
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
        xp, n, c, ct.t.data(), ignore_index, data_or_null(o.weight), eps, divisor_of(r, ct.total),
        divisor_of(r, static_cast<double>(n)), r == Reduction::none, ptr(io.loss), ptr(io.lse),
        ptr(io.grad), dxp);
  };
  if (io.dx) run_kernel(call, *io.dx, x);
  else call(widened(x).data(), nullptr);
}
}  // namespace loss_detail

// The functions take NllOptions (a braced list `{...}` is one) or LabelSmoothingOptions.
template <class O, class D>
concept CrossEntropyOptionsOn = std::same_as<O, BasicNllOptions<D>> || std::same_as<O, BasicLabelSmoothingOptions<D>>;

// Forward into caller-owned tensors: loss ([N] for Reduction::none, else [1]) and lse ([N]).
template <FloatDType T, class D, class Targets, CrossEntropyOptionsOn<D> O = BasicNllOptions<D>>
void cross_entropy_out(const Tensor<T, D>& x, const Targets& target, const O& o, Tensor<acc_t<T>, D>& loss,
                       Tensor<acc_t<T>, D>& lse) {
  loss_detail::softmax_loss("cross_entropy", x, target, o, {.loss = &loss, .lse = &lse});
}

// The loss alone ([N] or [1]).
template <FloatDType T, class D, class Targets, CrossEntropyOptionsOn<D> O = BasicNllOptions<D>>
Tensor<acc_t<T>, D> cross_entropy(const Tensor<T, D>& x, const Targets& target, const O& o = {}) {
  loss_detail::check_logits("cross_entropy", x);
  auto loss = Tensor<acc_t<T>, D>::empty(loss_detail::loss_shape(o.reduction, x.size(0)));
  loss_detail::softmax_loss("cross_entropy", x, target, o, {.loss = &loss});
  return loss;
}

// dx = (softmax(x) - onehot(t)) * w_t * grad (/ total weight for the mean). grad has the loss's shape;
// dx must not share memory with x.
template <FloatDType T, class D, class Targets, CrossEntropyOptionsOn<D> O = BasicNllOptions<D>>
void cross_entropy_backward_out(const Tensor<T, D>& x, const Targets& target, const O& o,
                                const Tensor<acc_t<T>, D>& lse, const Tensor<acc_t<T>, D>& grad, Tensor<T, D>& dx) {
  loss_detail::softmax_loss("cross_entropy_backward", x, target, o, {.saved_lse = &lse, .grad = &grad, .dx = &dx});
}
template <FloatDType T, class D, class Targets, CrossEntropyOptionsOn<D> O = BasicNllOptions<D>>
Tensor<T, D> cross_entropy_backward(const Tensor<T, D>& x, const Targets& target, const O& o,
                                    const Tensor<acc_t<T>, D>& lse, const Tensor<acc_t<T>, D>& grad) {
  auto dx = Tensor<T, D>::empty(x.shape());  // x is checked before dx is written
  cross_entropy_backward_out(x, target, o, lse, grad, dx);
  return dx;
}

// Loss and gradient in one pass over the logits (each row is read once and its gradient written while
// the row is in the L1 cache). grad, the upstream gradient, has the loss's shape.
template <FloatDType T, class D, class Targets, CrossEntropyOptionsOn<D> O = BasicNllOptions<D>>
void cross_entropy_forward_backward_out(const Tensor<T, D>& x, const Targets& target, const O& o,
                                        const Tensor<acc_t<T>, D>& grad, Tensor<acc_t<T>, D>& loss, Tensor<T, D>& dx) {
  loss_detail::softmax_loss("cross_entropy_forward_backward", x, target, o, {.loss = &loss, .grad = &grad, .dx = &dx});
}

}  // namespace fastpp
