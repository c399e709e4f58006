#pragma once
// fastai's loss objects: CrossEntropyLossFlat, BCEWithLogitsLossFlat and LabelSmoothingCrossEntropy.
// Like fastai's BaseLoss they flatten: logits [..., C] become [M, C] rows of the last axis and targets
// become [M] (the "Flat"). Each carries its activation (what get_preds applies) and its decodes
// (predictions from activations).
//
// Calling a loss returns its output: the loss value(s) plus what backward needs (the logits handle, the
// targets, the saved logsumexp), so
//   auto out = loss(logits, targets);   out.item();   auto dlogits = out.backward();
// forward_backward() does both in one pass into a gradient tensor the caller owns (the training step).
//
// The target type is checked at compile time: class indices go to the cross-entropies, one-hot or
// multi-label floats to BCEWithLogitsLossFlat, and the wrong one is a static_assert naming the right loss.
#include <type_traits>

#include "binary.hpp"
#include "cross_entropy.hpp"
#include "label_smoothing.hpp"
#include "softmax.hpp"

namespace fastpp {

// Class indices: a cpu tensor of int64 (int32 and uint8 are widened, as fastai does).
template <class Targets>
inline constexpr bool is_class_index_tensor_v =
    std::is_same_v<Targets, Tensor<std::int64_t>> || std::is_same_v<Targets, Tensor<std::int32_t>> ||
    std::is_same_v<Targets, Tensor<std::uint8_t>>;

// Multi-label or one-hot targets for logits of dtype T: a cpu tensor of T, or uint8 0/1 flags.
template <class Targets, class T>
inline constexpr bool is_multi_label_tensor_v =
    std::is_same_v<Targets, Tensor<T>> || std::is_same_v<Targets, Tensor<std::uint8_t>>;

// True when Loss can be called with logits of dtype T and these targets (no static_assert fires).
template <class Loss, class Targets, class T = float>
concept AcceptsTargets = Loss::template accepts<Targets, T>;

namespace loss_detail {
// [..., C] -> [M, C]
template <class T>
Tensor<T> flatten_rows(const char* op, const Tensor<T>& x) {
  check<ShapeError>(x.defined() && x.rank() >= 2, op, ": expected logits of rank 2 or more with classes on the "
                    "last axis, got shape ", x.defined() ? x.shape().str() : std::string("undefined"));
  const std::int64_t c = x.size(-1);
  return x.reshape({c == 0 ? 0 : x.numel() / c, c});
}
// Any class-index tensor -> int64 [M], checked against the number of rows.
template <class I>
Tensor<std::int64_t> flatten_targets(const char* op, const Tensor<I>& t, std::int64_t rows) {
  check<ShapeError>(t.defined() && t.numel() == rows, op, ": ", rows, " rows of logits need ", rows,
                    " targets, got shape ", t.defined() ? t.shape().str() : std::string("undefined"));
  if constexpr (std::is_same_v<I, std::int64_t>) return t.reshape({rows});
  else return t.template cast<std::int64_t>().reshape({rows});
}
template <class A>
Tensor<A> filled_grad(const Shape& s, double g) {
  return Tensor<A>::full(s, static_cast<A>(g));
}
}  // namespace loss_detail

// What a softmax-based loss returns: the value(s) and the state its backward needs.
template <class T, class Options>
struct SoftmaxLossOutput {
  Tensor<acc_t<T>> loss;  // [M] for Reduction::none, else [1]
  Tensor<acc_t<T>> lse;   // [M] per-row logsumexp, saved for backward
  Tensor<T> logits;       // [M, C] (a handle, not a copy)
  Tensor<std::int64_t> targets;
  Options options;

  // The reduced loss as a number.
  double item() const {
    check<ShapeError>(loss.numel() == 1, "item(): the loss has ", loss.numel(),
                      " values (reduction none); reduce it or read .loss");
    return static_cast<double>(loss.data()[0]);
  }
  // dlogits for an upstream gradient shaped like the loss, into a tensor shaped like the logits.
  void backward_out(Tensor<T>& dlogits, const Tensor<acc_t<T>>& grad) const {
    auto d = dlogits.reshape(logits.shape());
    if constexpr (std::is_same_v<Options, LabelSmoothingOptions>)
      label_smoothing_cross_entropy_backward_out(logits, targets, options, lse, grad, d);
    else
      cross_entropy_backward_out(logits, targets, options, lse, grad, d);
  }
  // dlogits ([M, C]) for the upstream gradient `grad` (every row's, when the loss is not reduced).
  Tensor<T> backward(double grad = 1.0) const {
    auto d = Tensor<T>::empty(logits.shape());
    backward_out(d, loss_detail::filled_grad<acc_t<T>>(loss.shape(), grad));
    return d;
  }
};

struct CrossEntropyLossFlat {
  Tensor<float> weight{};  // [C] or undefined
  std::int64_t ignore_index = -100;
  Reduction reduction = Reduction::mean;

  template <class Targets, class T = float>
  static constexpr bool accepts = is_class_index_tensor_v<Targets>;

  NllOptions options() const { return NllOptions{.weight = weight, .ignore_index = ignore_index, .reduction = reduction}; }

  template <FloatDType T, class Targets>
  SoftmaxLossOutput<T, NllOptions> operator()(const Tensor<T>& logits, const Targets& targets) const {
    static_assert(accepts<Targets, T>,
                  "CrossEntropyLossFlat takes class indices (fastpp::Tensor<std::int64_t>); for one-hot or "
                  "multi-label float targets use BCEWithLogitsLossFlat");
    SoftmaxLossOutput<T, NllOptions> out;
    out.logits = loss_detail::flatten_rows("CrossEntropyLossFlat", logits);
    out.targets = loss_detail::flatten_targets("CrossEntropyLossFlat", targets, out.logits.size(0));
    out.options = options();
    out.loss = Tensor<acc_t<T>>::empty(loss_detail::loss_shape(reduction, out.logits.size(0)));
    out.lse = Tensor<acc_t<T>>::empty({out.logits.size(0)});
    cross_entropy_out(out.logits, out.targets, out.options, out.loss, out.lse);
    return out;
  }
  // Loss and gradient (for an upstream gradient of 1) in one pass; dlogits has the logits' shape.
  template <FloatDType T, class Targets>
  Tensor<acc_t<T>> forward_backward(const Tensor<T>& logits, const Targets& targets, Tensor<T>& dlogits) const {
    static_assert(accepts<Targets, T>,
                  "CrossEntropyLossFlat takes class indices (fastpp::Tensor<std::int64_t>); for one-hot or "
                  "multi-label float targets use BCEWithLogitsLossFlat");
    const auto x = loss_detail::flatten_rows("CrossEntropyLossFlat", logits);
    const auto t = loss_detail::flatten_targets("CrossEntropyLossFlat", targets, x.size(0));
    loss_detail::check_out("CrossEntropyLossFlat", "dlogits", dlogits, logits.shape());
    auto d = dlogits.reshape(x.shape());
    const auto shape = loss_detail::loss_shape(reduction, x.size(0));
    auto loss = Tensor<acc_t<T>>::empty(shape);
    cross_entropy_forward_backward_out(x, t, options(), loss_detail::filled_grad<acc_t<T>>(shape, 1.0), loss, d);
    return loss;
  }
  // fastai: activation = softmax over the class axis; decodes = argmax.
  template <FloatDType T>
  Tensor<T> activation(const Tensor<T>& logits) const {
    return softmax(loss_detail::flatten_rows("CrossEntropyLossFlat::activation", logits));
  }
  template <FloatDType T>
  Tensor<std::int64_t> decodes(const Tensor<T>& x) const {
    return argmax(loss_detail::flatten_rows("CrossEntropyLossFlat::decodes", x));
  }
};

struct LabelSmoothingCrossEntropy {
  double eps = 0.1;
  Tensor<float> weight{};
  Reduction reduction = Reduction::mean;

  template <class Targets, class T = float>
  static constexpr bool accepts = is_class_index_tensor_v<Targets>;

  LabelSmoothingOptions options() const { return LabelSmoothingOptions{.eps = eps, .weight = weight, .reduction = reduction}; }

  template <FloatDType T, class Targets>
  SoftmaxLossOutput<T, LabelSmoothingOptions> operator()(const Tensor<T>& logits, const Targets& targets) const {
    static_assert(accepts<Targets, T>,
                  "LabelSmoothingCrossEntropy takes class indices (fastpp::Tensor<std::int64_t>); for one-hot "
                  "or multi-label float targets use BCEWithLogitsLossFlat");
    SoftmaxLossOutput<T, LabelSmoothingOptions> out;
    out.logits = loss_detail::flatten_rows("LabelSmoothingCrossEntropy", logits);
    out.targets = loss_detail::flatten_targets("LabelSmoothingCrossEntropy", targets, out.logits.size(0));
    out.options = options();
    out.loss = Tensor<acc_t<T>>::empty(loss_detail::loss_shape(reduction, out.logits.size(0)));
    out.lse = Tensor<acc_t<T>>::empty({out.logits.size(0)});
    label_smoothing_cross_entropy_out(out.logits, out.targets, out.options, out.loss, out.lse);
    return out;
  }
  template <FloatDType T, class Targets>
  Tensor<acc_t<T>> forward_backward(const Tensor<T>& logits, const Targets& targets, Tensor<T>& dlogits) const {
    static_assert(accepts<Targets, T>,
                  "LabelSmoothingCrossEntropy takes class indices (fastpp::Tensor<std::int64_t>); for one-hot "
                  "or multi-label float targets use BCEWithLogitsLossFlat");
    const auto x = loss_detail::flatten_rows("LabelSmoothingCrossEntropy", logits);
    const auto t = loss_detail::flatten_targets("LabelSmoothingCrossEntropy", targets, x.size(0));
    loss_detail::check_out("LabelSmoothingCrossEntropy", "dlogits", dlogits, logits.shape());
    auto d = dlogits.reshape(x.shape());
    const auto shape = loss_detail::loss_shape(reduction, x.size(0));
    auto loss = Tensor<acc_t<T>>::empty(shape);
    label_smoothing_cross_entropy_forward_backward_out(x, t, options(), loss_detail::filled_grad<acc_t<T>>(shape, 1.0),
                                                       loss, d);
    return loss;
  }
  template <FloatDType T>
  Tensor<T> activation(const Tensor<T>& logits) const {
    return softmax(loss_detail::flatten_rows("LabelSmoothingCrossEntropy::activation", logits));
  }
  template <FloatDType T>
  Tensor<std::int64_t> decodes(const Tensor<T>& x) const {
    return argmax(loss_detail::flatten_rows("LabelSmoothingCrossEntropy::decodes", x));
  }
};

// What BCEWithLogitsLossFlat returns.
template <class T>
struct BceLossOutput {
  Tensor<acc_t<T>> loss;  // logits' shape for Reduction::none, else [1]
  Tensor<T> logits;
  Tensor<T> targets;
  BceOptions options;

  double item() const {
    check<ShapeError>(loss.numel() == 1, "item(): the loss has ", loss.numel(),
                      " values (reduction none); reduce it or read .loss");
    return static_cast<double>(loss.data()[0]);
  }
  void backward_out(Tensor<T>& dlogits, const Tensor<acc_t<T>>& grad) const {
    binary_cross_entropy_with_logits_backward_out(logits, targets, options, grad, dlogits);
  }
  Tensor<T> backward(double grad = 1.0) const {
    auto d = Tensor<T>::empty(logits.shape());
    backward_out(d, loss_detail::filled_grad<acc_t<T>>(loss.shape(), grad));
    return d;
  }
};

struct BCEWithLogitsLossFlat {
  Tensor<float> weight{};      // [C] or undefined
  Tensor<float> pos_weight{};  // [C] or undefined
  Reduction reduction = Reduction::mean;
  double thresh = 0.5;       // decodes: probability above thresh means the label is present

  template <class Targets, class T = float>
  static constexpr bool accepts = is_multi_label_tensor_v<Targets, T>;

  BceOptions options() const { return BceOptions{.weight = weight, .pos_weight = pos_weight, .reduction = reduction}; }

  template <FloatDType T, class Targets>
  BceLossOutput<T> operator()(const Tensor<T>& logits, const Targets& targets) const {
    static_assert(accepts<Targets, T>,
                  "BCEWithLogitsLossFlat takes one-hot or multi-label targets shaped like the logits (a tensor of "
                  "the logits' float type, or uint8 flags); for class indices use CrossEntropyLossFlat");
    BceLossOutput<T> out;
    out.logits = logits;
    if constexpr (std::is_same_v<Targets, Tensor<T>>) out.targets = targets;
    else out.targets = targets.template cast<T>();
    out.options = options();
    out.loss = binary_cross_entropy_with_logits(out.logits, out.targets, out.options);
    return out;
  }
  template <FloatDType T>
  Tensor<T> activation(const Tensor<T>& logits) const {
    return sigmoid(logits);
  }
  // 1 where the probability exceeds thresh (fastai applies decodes to activations).
  template <FloatDType T>
  Tensor<std::uint8_t> decodes(const Tensor<T>& probs) const {
    auto out = Tensor<std::uint8_t>::empty(probs.shape());
    for (std::int64_t i = 0; i < probs.numel(); ++i)
      out.data()[i] = static_cast<double>(static_cast<acc_t<T>>(probs.data()[i])) > thresh ? 1 : 0;
    return out;
  }
};

}  // namespace fastpp
