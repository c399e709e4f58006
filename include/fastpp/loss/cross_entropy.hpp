#pragma once
// cross_entropy = nll_loss(log_softmax(x)), fused: the forward reads the logits once and keeps each
// row's logsumexp; the backward computes (softmax - onehot) * scale from the logits and that saved
// logsumexp, in one more pass; cross_entropy_forward_backward_out does both in a single pass (loss and
// gradient, the training step). Options and reductions are nll_loss's (PyTorch's CrossEntropyLoss).
#include "softmax_loss.hpp"

namespace fastpp {

namespace loss_detail {
template <class T>
SoftmaxLossJob<T> cross_entropy_job(const char* op, const Tensor<T>& x, const Tensor<std::int64_t>& target,
                                    const NllOptions& o) {
  check_logits(op, x);
  SoftmaxLossJob<T> job;
  job.x = x.data();
  job.rows = x.size(0);
  job.classes = x.size(1);
  job.total_weight = check_targets_and_weigh(op, target, job.rows, job.classes, o.ignore_index, o.weight);
  job.target = target.data();
  job.weight = o.weight.defined() ? o.weight.data() : nullptr;
  job.ignore_index = o.ignore_index;
  job.reduction = o.reduction;
  return job;
}
}  // namespace loss_detail

// Forward into caller-owned tensors: loss ([N] for Reduction::none, else [1]) and lse ([N], for backward).
template <FloatDType T>
void cross_entropy_out(const Tensor<T>& x, const Tensor<std::int64_t>& target, const NllOptions& o,
                       Tensor<acc_t<T>>& loss, Tensor<acc_t<T>>& lse) {
  auto job = loss_detail::cross_entropy_job("cross_entropy", x, target, o);
  loss_detail::check_out("cross_entropy", "loss", loss, loss_detail::loss_shape(o.reduction, job.rows));
  loss_detail::check_out("cross_entropy", "lse", lse, Shape{job.rows});
  job.loss_rows = o.reduction == Reduction::none ? loss.data() : nullptr;
  job.lse = lse.data();
  loss_detail::finish_loss(job, loss_detail::softmax_loss_pass<loss_detail::Pass::forward>(job), loss);
}

// The loss alone ([N] or [1]).
template <FloatDType T>
Tensor<acc_t<T>> cross_entropy(const Tensor<T>& x, const Tensor<std::int64_t>& target, const NllOptions& o = {}) {
  loss_detail::check_logits("cross_entropy", x);
  auto loss = Tensor<acc_t<T>>::empty(loss_detail::loss_shape(o.reduction, x.size(0)));
  auto lse = Tensor<acc_t<T>>::empty({x.size(0)});
  cross_entropy_out(x, target, o, loss, lse);
  return loss;
}

// dx = (softmax(x) - onehot(t)) * w_t * grad (/ total weight for the mean), from the lse the forward saved.
// grad has the loss's shape. dx must not share memory with x.
template <FloatDType T>
void cross_entropy_backward_out(const Tensor<T>& x, const Tensor<std::int64_t>& target, const NllOptions& o,
                                const Tensor<acc_t<T>>& lse, const Tensor<acc_t<T>>& grad, Tensor<T>& dx) {
  auto job = loss_detail::cross_entropy_job("cross_entropy_backward", x, target, o);
  loss_detail::check_same_shape("cross_entropy_backward", "lse", lse, "one value per row", Shape{job.rows});
  loss_detail::check_loss_grad("cross_entropy_backward", grad, o.reduction, job.rows);
  loss_detail::check_out("cross_entropy_backward", "dx", dx, x.shape());
  loss_detail::check_no_overlap("cross_entropy_backward", "dx", dx, "x", x);
  job.saved_lse = lse.data();
  job.grad = grad.data();
  job.dx = dx.data();
  loss_detail::softmax_loss_pass<loss_detail::Pass::backward>(job);
}
template <FloatDType T>
Tensor<T> cross_entropy_backward(const Tensor<T>& x, const Tensor<std::int64_t>& target, const NllOptions& o,
                                 const Tensor<acc_t<T>>& lse, const Tensor<acc_t<T>>& grad) {
  loss_detail::check_logits("cross_entropy_backward", x);
  auto dx = Tensor<T>::empty(x.shape());
  cross_entropy_backward_out(x, target, o, lse, grad, dx);
  return dx;
}

// Loss and gradient in one pass over the logits (each row is read once and its gradient written while
// the row is in the L1 cache). grad, the upstream gradient, has the loss's shape.
template <FloatDType T>
void cross_entropy_forward_backward_out(const Tensor<T>& x, const Tensor<std::int64_t>& target,
                                        const NllOptions& o, const Tensor<acc_t<T>>& grad, Tensor<acc_t<T>>& loss,
                                        Tensor<T>& dx) {
  auto job = loss_detail::cross_entropy_job("cross_entropy_forward_backward", x, target, o);
  loss_detail::check_loss_grad("cross_entropy_forward_backward", grad, o.reduction, job.rows);
  loss_detail::check_out("cross_entropy_forward_backward", "loss", loss, loss_detail::loss_shape(o.reduction, job.rows));
  loss_detail::check_out("cross_entropy_forward_backward", "dx", dx, x.shape());
  loss_detail::check_no_overlap("cross_entropy_forward_backward", "dx", dx, "x", x);
  job.grad = grad.data();
  job.loss_rows = o.reduction == Reduction::none ? loss.data() : nullptr;
  job.dx = dx.data();
  loss_detail::finish_loss(job, loss_detail::softmax_loss_pass<loss_detail::Pass::fused>(job), loss);
}

}  // namespace fastpp
