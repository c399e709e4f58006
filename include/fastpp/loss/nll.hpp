#pragma once
// nll_loss: the negative log-likelihood of the target class, given log-probabilities [N, C] and class
// indices [N], as PyTorch's: row loss l_i = -w[t_i] logp[i, t_i] (0 when t_i == ignore_index), the mean
// divided by the weight of the rows not ignored. The loss comes back in acc_t<T>, shape [N] or [1].
#include "checks.hpp"

namespace fastpp {

template <FloatDType T, class D, class Targets>
void nll_loss_out(const Tensor<T, D>& logp, const Targets& target, const BasicNllOptions<D>& o,
                  Tensor<acc_t<T>, D>& loss) {
  const auto ct = loss_detail::checked_targets("nll_loss", logp, target, o.ignore_index, o.weight);
  loss_detail::check_shape("nll_loss", "loss", loss, loss_detail::loss_shape(o.reduction, logp.size(0)));
  backend::loss_kernels<D>::nll_loss(loss_detail::widened(logp).data(), logp.size(0), logp.size(1), ct.t.data(),
                                     o.ignore_index, loss_detail::data_or_null(o.weight),
                                     loss_detail::divisor_of(o.reduction, ct.total), o.reduction == Reduction::none,
                                     loss.data());
}
template <FloatDType T, class D, class Targets>
Tensor<acc_t<T>, D> nll_loss(const Tensor<T, D>& logp, const Targets& target, const BasicNllOptions<D>& o = {}) {
  return loss_detail::filled<acc_t<T>, D>(loss_detail::loss_shape("nll_loss", logp, o.reduction),
                                          [&](auto& loss) { nll_loss_out(logp, target, o, loss); });
}

// dlogp: zero except dlogp[i, t_i] = -w[t_i] * (upstream gradient of row i's share of the loss).
// grad has the loss's shape ([N] or [1]).
template <FloatDType T, class D, class Targets>
void nll_loss_backward_out(const Tensor<T, D>& logp, const Targets& target, const BasicNllOptions<D>& o,
                           const Tensor<acc_t<T>, D>& grad, Tensor<T, D>& dlogp) {
  const char* op = "nll_loss_backward";
  const auto ct = loss_detail::checked_targets(op, logp, target, o.ignore_index, o.weight);
  loss_detail::check_shape(op, "grad", grad, loss_detail::loss_shape(o.reduction, logp.size(0)));
  loss_detail::check_shape(op, "dlogp", dlogp, logp.shape());
  loss_detail::run_kernel([&](acc_t<T>* d) {
    backend::loss_kernels<D>::nll_loss_backward(logp.size(0), logp.size(1), ct.t.data(), o.ignore_index,
                                                loss_detail::data_or_null(o.weight),
                                                loss_detail::divisor_of(o.reduction, ct.total),
                                                o.reduction == Reduction::none, grad.data(), d);
  }, dlogp);
}
template <FloatDType T, class D, class Targets>
Tensor<T, D> nll_loss_backward(const Tensor<T, D>& logp, const Targets& target, const BasicNllOptions<D>& o,
                               const Tensor<acc_t<T>, D>& grad) {
  loss_detail::check_logits("nll_loss_backward", logp);
  return loss_detail::filled<T, D>(logp.shape(), [&](auto& d) { nll_loss_backward_out(logp, target, o, grad, d); });
}

}  // namespace fastpp
