#pragma once
// fastai's LabelSmoothingCrossEntropy (fastai/losses.py), with lp = log_softmax(x) and C classes:
//   loss = eps / C * reduce_i(-sum_j lp_ij) + (1 - eps) * nll_loss(lp, t, weight, reduction)
// The smoothing term takes no class weights and ignores no row: under the mean it is averaged over
// all N rows, while the NLL term uses nll_loss's weighted mean (and its default ignore_index -100),
// exactly as fastai composes them. Same passes as cross_entropy: forward, backward from the saved
// logsumexp, and fused forward+backward.
#include "softmax_loss.hpp"

namespace fastpp {

namespace loss_detail {
template <class T>
SoftmaxLossJob<T> label_smoothing_job(const char* op, const Tensor<T>& x, const Tensor<std::int64_t>& target,
                                      const LabelSmoothingOptions& o) {
  check<ValueError>(o.eps >= 0.0 && o.eps <= 1.0, op, ": eps must be in [0, 1], got ", o.eps);
  check_logits(op, x);
  SoftmaxLossJob<T> job;
  job.x = x.data();
  job.rows = x.size(0);
  job.classes = x.size(1);
  job.ignore_index = -100;  // F.nll_loss's default, which fastai's formula inherits
  job.total_weight = check_targets_and_weigh(op, target, job.rows, job.classes, job.ignore_index, o.weight);
  job.target = target.data();
  job.weight = o.weight.defined() ? o.weight.data() : nullptr;
  job.reduction = o.reduction;
  job.eps = o.eps;
  return job;
}
}  // namespace loss_detail

template <FloatDType T>
void label_smoothing_cross_entropy_out(const Tensor<T>& x, const Tensor<std::int64_t>& target,
                                       const LabelSmoothingOptions& o, Tensor<acc_t<T>>& loss, Tensor<acc_t<T>>& lse) {
  auto job = loss_detail::label_smoothing_job("label_smoothing_cross_entropy", x, target, o);
  loss_detail::check_out("label_smoothing_cross_entropy", "loss", loss, loss_detail::loss_shape(o.reduction, job.rows));
  loss_detail::check_out("label_smoothing_cross_entropy", "lse", lse, Shape{job.rows});
  job.loss_rows = o.reduction == Reduction::none ? loss.data() : nullptr;
  job.lse = lse.data();
  loss_detail::finish_loss(job, loss_detail::softmax_loss_pass<loss_detail::Pass::forward>(job), loss);
}

template <FloatDType T>
Tensor<acc_t<T>> label_smoothing_cross_entropy(const Tensor<T>& x, const Tensor<std::int64_t>& target,
                                               const LabelSmoothingOptions& o = {}) {
  loss_detail::check_logits("label_smoothing_cross_entropy", x);
  auto loss = Tensor<acc_t<T>>::empty(loss_detail::loss_shape(o.reduction, x.size(0)));
  auto lse = Tensor<acc_t<T>>::empty({x.size(0)});
  label_smoothing_cross_entropy_out(x, target, o, loss, lse);
  return loss;
}

template <FloatDType T>
void label_smoothing_cross_entropy_backward_out(const Tensor<T>& x, const Tensor<std::int64_t>& target,
                                                const LabelSmoothingOptions& o, const Tensor<acc_t<T>>& lse,
                                                const Tensor<acc_t<T>>& grad, Tensor<T>& dx) {
  auto job = loss_detail::label_smoothing_job("label_smoothing_cross_entropy_backward", x, target, o);
  loss_detail::check_same_shape("label_smoothing_cross_entropy_backward", "lse", lse, "one value per row",
                                Shape{job.rows});
  loss_detail::check_loss_grad("label_smoothing_cross_entropy_backward", grad, o.reduction, job.rows);
  loss_detail::check_out("label_smoothing_cross_entropy_backward", "dx", dx, x.shape());
  loss_detail::check_no_overlap("label_smoothing_cross_entropy_backward", "dx", dx, "x", x);
  job.saved_lse = lse.data();
  job.grad = grad.data();
  job.dx = dx.data();
  loss_detail::softmax_loss_pass<loss_detail::Pass::backward>(job);
}

template <FloatDType T>
void label_smoothing_cross_entropy_forward_backward_out(const Tensor<T>& x, const Tensor<std::int64_t>& target,
                                                        const LabelSmoothingOptions& o, const Tensor<acc_t<T>>& grad,
                                                        Tensor<acc_t<T>>& loss, Tensor<T>& dx) {
  auto job = loss_detail::label_smoothing_job("label_smoothing_cross_entropy_forward_backward", x, target, o);
  loss_detail::check_loss_grad("label_smoothing_cross_entropy_forward_backward", grad, o.reduction, job.rows);
  loss_detail::check_out("label_smoothing_cross_entropy_forward_backward", "loss", loss,
                         loss_detail::loss_shape(o.reduction, job.rows));
  loss_detail::check_out("label_smoothing_cross_entropy_forward_backward", "dx", dx, x.shape());
  loss_detail::check_no_overlap("label_smoothing_cross_entropy_forward_backward", "dx", dx, "x", x);
  job.grad = grad.data();
  job.loss_rows = o.reduction == Reduction::none ? loss.data() : nullptr;
  job.dx = dx.data();
  loss_detail::finish_loss(job, loss_detail::softmax_loss_pass<loss_detail::Pass::fused>(job), loss);
}

}  // namespace fastpp
