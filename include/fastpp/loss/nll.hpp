#pragma once
// nll_loss: the negative log-likelihood of the target class, given log-probabilities [N, C] and class
// indices [N]. As in PyTorch:
//   row loss  l_i = -w[t_i] * logp[i, t_i]   (0 when t_i == ignore_index)
//   mean      sum_i l_i / sum_{i not ignored} w[t_i]   (NaN when every row is ignored, as PyTorch)
//   sum       sum_i l_i
// The loss is returned in acc_t<T> (float for half and bfloat16), with shape [N] or [1].
#include "storage.hpp"

namespace fastpp {

namespace loss_detail {
// The divisor of a reduced loss: the total weight for the mean, 1 for a sum or per-row losses.
inline double divisor_of(Reduction r, double total_weight) { return r == Reduction::mean ? total_weight : 1.0; }
}  // namespace loss_detail

template <FloatDType T, class D, class I>
void nll_loss_out(const Tensor<T, D>& logp, const Tensor<I, D>& target, const BasicNllOptions<D>& o,
                  Tensor<acc_t<T>, D>& loss) {
  const char* op = "nll_loss";
  loss_detail::check_logits(op, logp);
  const std::int64_t n = logp.size(0), c = logp.size(1);
  const auto t = loss_detail::class_indices(op, target);
  const double total = loss_detail::check_targets_and_weigh(op, t, n, c, o.ignore_index, o.weight);
  loss_detail::check_shape(op, "loss", loss, loss_detail::loss_shape(o.reduction, n));
  const auto x = loss_detail::widened(logp);
  backend::loss_kernels<D>::nll_loss(x.data(), n, c, t.data(), o.ignore_index, loss_detail::data_or_null(o.weight),
                                     loss_detail::divisor_of(o.reduction, total), o.reduction == Reduction::none,
                                     loss.data());
}
template <FloatDType T, class D, class I>
Tensor<acc_t<T>, D> nll_loss(const Tensor<T, D>& logp, const Tensor<I, D>& target, const BasicNllOptions<D>& o = {}) {
  loss_detail::check_logits("nll_loss", logp);
  auto loss = Tensor<acc_t<T>, D>::empty(loss_detail::loss_shape(o.reduction, logp.size(0)));
  nll_loss_out(logp, target, o, loss);
  return loss;
}

// dlogp: zero except dlogp[i, t_i] = -w[t_i] * (upstream gradient of row i's share of the loss).
// grad has the loss's shape ([N] or [1]).
template <FloatDType T, class D, class I>
void nll_loss_backward_out(const Tensor<T, D>& logp, const Tensor<I, D>& target, const BasicNllOptions<D>& o,
                           const Tensor<acc_t<T>, D>& grad, Tensor<T, D>& dlogp) {
  const char* op = "nll_loss_backward";
  loss_detail::check_logits(op, logp);
  const std::int64_t n = logp.size(0), c = logp.size(1);
  const auto t = loss_detail::class_indices(op, target);
  const double total = loss_detail::check_targets_and_weigh(op, t, n, c, o.ignore_index, o.weight);
  loss_detail::check_shape(op, "grad", grad, loss_detail::loss_shape(o.reduction, n));
  loss_detail::check_shape(op, "dlogp", dlogp, logp.shape());
  loss_detail::run_kernel([&](acc_t<T>* d) {
    backend::loss_kernels<D>::nll_loss_backward(n, c, t.data(), o.ignore_index, loss_detail::data_or_null(o.weight),
                                                loss_detail::divisor_of(o.reduction, total),
                                                o.reduction == Reduction::none, grad.data(), d);
  }, dlogp);
}
template <FloatDType T, class D, class I>
Tensor<T, D> nll_loss_backward(const Tensor<T, D>& logp, const Tensor<I, D>& target, const BasicNllOptions<D>& o,
                               const Tensor<acc_t<T>, D>& grad) {
  loss_detail::check_logits("nll_loss_backward", logp);
  auto d = Tensor<T, D>::empty(logp.shape());
  nll_loss_backward_out(logp, target, o, grad, d);
  return d;
}

}  // namespace fastpp
