#pragma once
// fastai's loss objects, one template (docs/loss.md): CrossEntropyLossFlat, LabelSmoothingCrossEntropy
// (eps = 0.1 by default, the same kernel) and BCEWithLogitsLossFlat. Like fastai's BaseLoss they flatten
// logits [..., C] to [M, C] rows and class-index targets to [M], and carry their activation and decodes.
// Calling one returns the loss plus what backward needs:
//   auto out = loss(logits, targets);   out.item();   auto dlogits = out.backward();
// forward_backward() does both in one pass into a gradient tensor the caller owns (the training step).
// Targets of the wrong kind stop the build with a sentence naming the loss that takes them.
#include <type_traits>

#include "../core/loss_kind.hpp"
#include "binary.hpp"
#include "cross_entropy.hpp"
#include "softmax.hpp"

namespace fastpp {

// Multi-label or one-hot targets for logits of dtype T: a tensor of T, or uint8 0/1 flags.
template <class Targets, class T>
inline constexpr bool is_multi_label_tensor_v = false;
template <class U, class D, class T>
inline constexpr bool is_multi_label_tensor_v<Tensor<U, D>, T> = std::is_same_v<U, T> || std::is_same_v<U, std::uint8_t>;

// True when Loss can be called with logits of dtype T and these targets (no static_assert fires).
template <class Loss, class Targets, class T = float>
concept AcceptsTargets = Loss::template accepts<Targets, T>;

namespace loss_detail {
// [..., C] -> [M, C]
template <class T, class D>
Tensor<T, D> flatten_rows(const char* op, const Tensor<T, D>& x) {
  check<ShapeError>(x.defined() && x.rank() >= 2, op, ": expected logits of rank 2 or more with classes on the "
                    "last axis, got shape ", shape_text(x));
  const std::int64_t c = x.size(-1);
  return x.reshape({c == 0 ? 0 : x.numel() / c, c});
}
// Class indices of any index type -> int64 [M], checked against the number of rows.
template <class D, class Targets>
Tensor<std::int64_t, D> flatten_targets(const char* op, const Targets& targets, std::int64_t rows) {
  const auto t = class_indices<D>(op, targets);
  check<ShapeError>(t.defined() && t.numel() == rows, op, ": ", rows, " rows of logits need ", rows,
                    " targets, got shape ", shape_text(t));
  return t.reshape({rows});
}
}  // namespace loss_detail

// The loss objects. Fields that belong to one kind only are checked when the loss is called.
template <LossKind K, bool Smoothing = false, class D = cpu>
struct FlatLoss {
  static constexpr bool softmax_kind = K == LossKind::cross_entropy;
  // The same loss for logits on another device (what default_loss_t<Target, D> gives).
  template <class D2>
  using on = FlatLoss<K, Smoothing, D2>;

  double eps = Smoothing ? 0.1 : 0.0;  // label smoothing (cross-entropy kinds; fastai's formula)
  Tensor<float, D> weight{};           // [C] or undefined
  Tensor<float, D> pos_weight{};       // [C] or undefined (BCEWithLogitsLossFlat only)
  std::int64_t ignore_index = -100;    // (cross-entropy kinds only)
  Reduction reduction = Reduction::mean;
  double thresh = 0.5;                 // decodes of BCEWithLogitsLossFlat: probability above it is a label

  template <class Targets, class T = float>
  static constexpr bool accepts = softmax_kind ? is_class_index_tensor_v<Targets> : is_multi_label_tensor_v<Targets, T>;

  // What calling the loss returns: the value(s) and what backward needs.
  template <class T>
  struct Output {
    Tensor<acc_t<T>, D> loss;  // for Reduction::none [M] (cross-entropy) or the logits' shape (BCE), else [1]
    Tensor<acc_t<T>, D> lse;   // [M] per-row logsumexp (cross-entropy)
    Tensor<T, D> logits;       // a handle, not a copy ([M, C] for cross-entropy)
    std::conditional_t<softmax_kind, Tensor<std::int64_t, D>, Tensor<T, D>> targets;
    FlatLoss spec;

    // The reduced loss as a number.
    double item() const {
      static_assert(HostDevice<D>, "item() reads the loss on the host: copy it there first (.loss.to<cpu>())");
      check<ShapeError>(loss.numel() == 1, "item(): the loss has ", loss.numel(),
                        " values (reduction none); reduce it or read .loss");
      return static_cast<double>(loss.data()[0]);
    }
    // dlogits for an upstream gradient shaped like the loss, into a tensor shaped like the logits.
    void backward_out(Tensor<T, D>& dlogits, const Tensor<acc_t<T>, D>& grad) const {
      auto d = dlogits.reshape(logits.shape());
      if constexpr (softmax_kind)
        loss_detail::softmax_loss("backward", logits, targets, spec, {.saved_lse = &lse, .grad = &grad, .dx = &d});
      else
        binary_cross_entropy_with_logits_backward_out(logits, targets, spec.bce_options(), grad, d);
    }
    // dlogits for the upstream gradient `grad` (every row's, when the loss is not reduced).
    Tensor<T, D> backward(double grad = 1.0) const {
      auto d = Tensor<T, D>::empty(logits.shape());
      backward_out(d, full_on<acc_t<T>, D>(loss.shape(), static_cast<acc_t<T>>(grad)));
      return d;
    }
  };

  template <FloatDType T, class Targets>
  Output<T> operator()(const Tensor<T, D>& logits, const Targets& targets) const {
    check_call<T, Targets>();
    Output<T> out;
    out.spec = *this;
    if constexpr (softmax_kind) {
      out.logits = loss_detail::flatten_rows("CrossEntropyLossFlat", logits);
      out.targets = loss_detail::flatten_targets<D>("CrossEntropyLossFlat", targets, out.logits.size(0));
      out.loss = Tensor<acc_t<T>, D>::empty(loss_detail::loss_shape(reduction, out.logits.size(0)));
      out.lse = Tensor<acc_t<T>, D>::empty({out.logits.size(0)});
      loss_detail::softmax_loss("CrossEntropyLossFlat", out.logits, out.targets, *this,
                                {.loss = &out.loss, .lse = &out.lse});
    } else {
      out.logits = logits;
      if constexpr (std::is_same_v<Targets, Tensor<T, D>>) out.targets = targets;
      else out.targets = targets.template cast<T>();
      out.loss = binary_cross_entropy_with_logits(out.logits, out.targets, bce_options());
    }
    return out;
  }

  // Loss and gradient (for an upstream gradient of 1) in one pass; dlogits has the logits' shape.
  template <FloatDType T, class Targets>
  Tensor<acc_t<T>, D> forward_backward(const Tensor<T, D>& logits, const Targets& targets, Tensor<T, D>& dlogits) const {
    static_assert(softmax_kind, "forward_backward is the fused pass of the cross-entropy losses; for "
                                "BCEWithLogitsLossFlat call the loss, then .backward_out()");
    check_call<T, Targets>();
    const auto x = loss_detail::flatten_rows("CrossEntropyLossFlat", logits);
    const auto t = loss_detail::flatten_targets<D>("CrossEntropyLossFlat", targets, x.size(0));
    loss_detail::check_shape("CrossEntropyLossFlat", "dlogits", dlogits, logits.shape());
    auto d = dlogits.reshape(x.shape());
    auto loss = Tensor<acc_t<T>, D>::empty(loss_detail::loss_shape(reduction, x.size(0)));
    const auto grad = full_on<acc_t<T>, D>(loss.shape(), acc_t<T>(1));
    loss_detail::softmax_loss("CrossEntropyLossFlat", x, t, *this, {.loss = &loss, .grad = &grad, .dx = &d});
    return loss;
  }

  // fastai: activation = softmax over the class axis and decodes = argmax, or sigmoid and a threshold.
  template <FloatDType T>
  Tensor<T, D> activation(const Tensor<T, D>& logits) const {
    if constexpr (softmax_kind) return softmax(loss_detail::flatten_rows("CrossEntropyLossFlat::activation", logits));
    else return sigmoid(logits);
  }
  template <FloatDType T>
  auto decodes(const Tensor<T, D>& x) const {
    if constexpr (softmax_kind) {
      return argmax(loss_detail::flatten_rows("CrossEntropyLossFlat::decodes", x));
    } else {
      static_assert(HostDevice<D>, "BCEWithLogitsLossFlat::decodes thresholds on the host: copy the probabilities there");
      auto out = Tensor<std::uint8_t, D>::empty(x.shape());
      for (std::int64_t i = 0; i < x.numel(); ++i)
        out.data()[i] = static_cast<double>(static_cast<acc_t<T>>(x.data()[i])) > thresh ? 1 : 0;
      return out;
    }
  }

  BasicBceOptions<D> bce_options() const { return {.weight = weight, .pos_weight = pos_weight, .reduction = reduction}; }

 private:
  // (Cross-entropy targets are checked where they are widened, by loss_detail::class_indices.)
  template <class T, class Targets>
  void check_call() const {
    static_assert(softmax_kind || accepts<Targets, T>,
                  "BCEWithLogitsLossFlat takes one-hot or multi-label targets shaped like the logits (a tensor of "
                  "the logits' float type, or uint8 flags); for class indices use CrossEntropyLossFlat");
    if constexpr (softmax_kind)
      check<ValueError>(!pos_weight.defined(), "CrossEntropyLossFlat: pos_weight belongs to BCEWithLogitsLossFlat");
    else
      check<ValueError>(eps == 0.0 && ignore_index == -100,
                        "BCEWithLogitsLossFlat: eps and ignore_index belong to the cross-entropy losses");
  }
};

using CrossEntropyLossFlat = FlatLoss<LossKind::cross_entropy>;
using LabelSmoothingCrossEntropy = FlatLoss<LossKind::cross_entropy, true>;
using BCEWithLogitsLossFlat = FlatLoss<LossKind::bce_with_logits>;

}  // namespace fastpp
