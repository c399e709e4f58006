#pragma once
// nll_loss: the negative log-likelihood of the target class, given log-probabilities [N, C] and class
// indices [N], as PyTorch's: row loss l_i = -w[t_i] logp[i, t_i] (0 when t_i == ignore_index), the mean
// divided by the weight of the rows not ignored. The loss comes back in acc_t<T>, shape [N] or [1].
#include "checks.hpp"

namespace fastpp {

template <FloatDType T, class D, class Targets>
Tensor<acc_t<T>, D> nll_loss(const Tensor<T, D>& logp, const Targets& target, const BasicNllOptions<D>& o = {}) {
  const auto ct = loss_detail::checked_targets("nll_loss", logp, target, o.ignore_index, o.weight);
  auto loss = Tensor<acc_t<T>, D>::empty(loss_detail::loss_shape(o.reduction, logp.size(0)));
  backend::loss_kernels<D>::nll_loss(loss_detail::widened(logp).data(), logp.size(0), logp.size(1), ct.t.data(),
                                     o.ignore_index, loss_detail::data_or_null(o.weight),
                                     loss_detail::divisor_of(o.reduction, ct.total), o.reduction == Reduction::none,
                                     loss.data());
  return loss;
}

// dlogp: zero except dlogp[i, t_i] = -w[t_i] * (upstream gradient of row i's share of the loss).
// grad has the loss's shape ([N] or [1]).
template <FloatDType T, class D, class Targets>
Tensor<T, D> nll_loss_backward(const Tensor<T, D>& logp, const Targets& target, const BasicNllOptions<D>& o,
                               const Tensor<acc_t<T>, D>& grad) {
  const char* op = "nll_loss_backward";
  const auto ct = loss_detail::checked_targets(op, logp, target, o.ignore_index, o.weight);
  loss_detail::check_shape(op, "grad", grad, loss_detail::loss_shape(o.reduction, logp.size(0)));
  auto dlogp = Tensor<T, D>::empty(logp.shape());
  loss_detail::run_kernel([&](acc_t<T>* d) {
    backend::loss_kernels<D>::nll_loss_backward(logp.size(0), logp.size(1), ct.t.data(), o.ignore_index,
                                                loss_detail::data_or_null(o.weight),
                                                loss_detail::divisor_of(o.reduction, ct.total),
                                                o.reduction == Reduction::none, grad.data(), d);
  }, dlogp);
  return dlogp;
}

}  // namespace fastpp
