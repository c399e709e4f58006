#pragma once
// fastai's LabelSmoothingCrossEntropy (fastai/losses.py), with lp = log_softmax(x) and C classes:
//   loss = eps / C * reduce_i(-sum_j lp_ij) + (1 - eps) * nll_loss(lp, t, weight, reduction)
// The smoothing term has no weights and ignores no row; the NLL term is nll_loss's (ignore_index -100),
// as fastai composes them. The same kernel as cross_entropy (cross_entropy.hpp), with eps.
#include "cross_entropy.hpp"

namespace fastpp {

template <FloatDType T, class D, class I>
void label_smoothing_cross_entropy_out(const Tensor<T, D>& x, const Tensor<I, D>& target,
                                       const BasicLabelSmoothingOptions<D>& o, Tensor<acc_t<T>, D>& loss,
                                       Tensor<acc_t<T>, D>& lse) {
  loss_detail::softmax_loss("label_smoothing_cross_entropy", x, target, o.weight, -100, o.reduction, o.eps,
                            {.loss = &loss, .lse = &lse});
}

template <FloatDType T, class D, class I>
Tensor<acc_t<T>, D> label_smoothing_cross_entropy(const Tensor<T, D>& x, const Tensor<I, D>& target,
                                                  const BasicLabelSmoothingOptions<D>& o = {}) {
  loss_detail::check_logits("label_smoothing_cross_entropy", x);
  auto loss = Tensor<acc_t<T>, D>::empty(loss_detail::loss_shape(o.reduction, x.size(0)));
  loss_detail::softmax_loss("label_smoothing_cross_entropy", x, target, o.weight, -100, o.reduction, o.eps,
                            {.loss = &loss});
  return loss;
}

template <FloatDType T, class D, class I>
void label_smoothing_cross_entropy_backward_out(const Tensor<T, D>& x, const Tensor<I, D>& target,
                                                const BasicLabelSmoothingOptions<D>& o, const Tensor<acc_t<T>, D>& lse,
                                                const Tensor<acc_t<T>, D>& grad, Tensor<T, D>& dx) {
  loss_detail::softmax_loss("label_smoothing_cross_entropy_backward", x, target, o.weight, -100, o.reduction, o.eps,
                            {.saved_lse = &lse, .grad = &grad, .dx = &dx});
}

template <FloatDType T, class D, class I>
void label_smoothing_cross_entropy_forward_backward_out(const Tensor<T, D>& x, const Tensor<I, D>& target,
                                                        const BasicLabelSmoothingOptions<D>& o,
                                                        const Tensor<acc_t<T>, D>& grad, Tensor<acc_t<T>, D>& loss,
                                                        Tensor<T, D>& dx) {
  loss_detail::softmax_loss("label_smoothing_cross_entropy_forward_backward", x, target, o.weight, -100, o.reduction,
                            o.eps, {.loss = &loss, .grad = &grad, .dx = &dx});
}

}  // namespace fastpp
