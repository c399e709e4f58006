#pragma once
// nll_loss: the negative log-likelihood of the target class, given log-probabilities [N, C] and class
// indices [N]. As in PyTorch:
//   row loss  l_i = -w[t_i] * logp[i, t_i]   (0 when t_i == ignore_index)
//   mean      sum_i l_i / sum_{i not ignored} w[t_i]   (NaN when every row is ignored, as PyTorch)
//   sum       sum_i l_i
// The loss is returned in acc_t<T> (float for half and bfloat16), with shape [N] or [1].
#include <cstring>

#include "checks.hpp"
#include "row_blocks.hpp"
#include "softmax.hpp"

namespace fastpp {

namespace loss_detail {
// The factor that multiplies w[t_i] in row i's gradient: the upstream gradient, divided by the total
// weight for the mean.
template <class A>
double row_grad_factor(Reduction r, const Tensor<A>& grad, std::int64_t i, double total_weight) {
  switch (r) {
    case Reduction::none: return static_cast<double>(grad.data()[i]);
    case Reduction::sum: return static_cast<double>(grad.data()[0]);
    case Reduction::mean: break;
  }
  return static_cast<double>(grad.data()[0]) / total_weight;
}
// The reduced value: the sum, or the sum divided by the total weight for the mean.
inline double reduce(Reduction r, double sum, double total_weight) {
  return r == Reduction::mean ? sum / total_weight : sum;
}
}  // namespace loss_detail

template <FloatDType T>
void nll_loss_out(const Tensor<T>& logp, const Tensor<std::int64_t>& target, const NllOptions& o,
                  Tensor<acc_t<T>>& loss) {
  using A = acc_t<T>;
  loss_detail::check_logits("nll_loss", logp);
  const std::int64_t n = logp.size(0), c = logp.size(1);
  const double total = loss_detail::check_targets_and_weigh("nll_loss", target, n, c, o.ignore_index, o.weight);
  loss_detail::check_out("nll_loss", "loss", loss, loss_detail::loss_shape(o.reduction, n));
  const std::int64_t* t = target.data();
  const float* w = o.weight.defined() ? o.weight.data() : nullptr;
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    double li = 0;
    if (t[i] != o.ignore_index)
      li = -(w ? static_cast<double>(w[t[i]]) : 1.0) * static_cast<double>(static_cast<A>(logp.data()[i * c + t[i]]));
    if (o.reduction == Reduction::none) loss.data()[i] = static_cast<A>(li);
    sum += li;
  }
  if (o.reduction != Reduction::none) loss.data()[0] = static_cast<A>(loss_detail::reduce(o.reduction, sum, total));
}
template <FloatDType T>
Tensor<acc_t<T>> nll_loss(const Tensor<T>& logp, const Tensor<std::int64_t>& target, const NllOptions& o = {}) {
  loss_detail::check_logits("nll_loss", logp);
  auto loss = Tensor<acc_t<T>>::empty(loss_detail::loss_shape(o.reduction, logp.size(0)));
  nll_loss_out(logp, target, o, loss);
  return loss;
}

// dlogp: zero except dlogp[i, t_i] = -w[t_i] * (upstream gradient of row i's share of the loss).
// grad has the loss's shape ([N] or [1]).
template <FloatDType T>
void nll_loss_backward_out(const Tensor<T>& logp, const Tensor<std::int64_t>& target, const NllOptions& o,
                           const Tensor<acc_t<T>>& grad, Tensor<T>& dlogp) {
  loss_detail::check_logits("nll_loss_backward", logp);
  const std::int64_t n = logp.size(0), c = logp.size(1);
  const double total =
      loss_detail::check_targets_and_weigh("nll_loss_backward", target, n, c, o.ignore_index, o.weight);
  loss_detail::check_loss_grad("nll_loss_backward", grad, o.reduction, n);
  loss_detail::check_out("nll_loss_backward", "dlogp", dlogp, logp.shape());
  const std::int64_t* t = target.data();
  const float* w = o.weight.defined() ? o.weight.data() : nullptr;
  T* dx = dlogp.data();
  loss_detail::for_each_row(n, c, [&](std::int64_t i) {
    T* row = dx + i * c;
    std::fill_n(row, c, T(0.0f));
    if (t[i] == o.ignore_index) return;
    const double wt = w ? static_cast<double>(w[t[i]]) : 1.0;
    row[t[i]] = static_cast<T>(static_cast<acc_t<T>>(-wt * loss_detail::row_grad_factor(o.reduction, grad, i, total)));
  });
}
template <FloatDType T>
Tensor<T> nll_loss_backward(const Tensor<T>& logp, const Tensor<std::int64_t>& target, const NllOptions& o,
                            const Tensor<acc_t<T>>& grad) {
  loss_detail::check_logits("nll_loss_backward", logp);
  auto d = Tensor<T>::empty(logp.shape());
  nll_loss_backward_out(logp, target, o, grad, d);
  return d;
}

}  // namespace fastpp
