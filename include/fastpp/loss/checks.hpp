#pragma once
// What the loss functions share: run-time checks, which run before any output is written (a bad target
// leaves the caller's buffers untouched, and every message names the operation, the row and the value),
// the targets they take, and the widening of half and bfloat16 to the float the kernels compute in.
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "../backend/cpu/loss_kernels.hpp"  // the default device's table; loss/ calls loss_kernels<D>
#include "../backend/kernels.hpp"
#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "options.hpp"

namespace fastpp {
// Class indices: a tensor of int64, int32 or uint8 (widened to int64, as fastai does), on any device.
template <class Targets>
inline constexpr bool is_class_index_tensor_v = false;
template <class I, class D>
inline constexpr bool is_class_index_tensor_v<Tensor<I, D>> =
    std::is_same_v<I, std::int64_t> || std::is_same_v<I, std::int32_t> || std::is_same_v<I, std::uint8_t>;
}  // namespace fastpp

namespace fastpp::loss_detail {

// x's shape, once x is known to be defined (`what` names it in the message).
template <class T, class D>
const Shape& defined_shape(std::string_view op, std::string_view what, const Tensor<T, D>& x) {
  check<ShapeError>(x.defined(), op, ": the ", what, " tensor is undefined");
  return x.shape();
}

// Logits must be [N, C]: the class axis is axis 1 (flatten other layouts first, as the *Flat losses do).
template <class T, class D>
void check_logits(std::string_view op, const Tensor<T, D>& x) {
  defined_shape(op, "logits", x);
  check<ShapeError>(x.rank() == 2, op, ": expected logits of shape [N, C] (rank 2), got shape ", x.shape(),
                    "; reshape to [-1, C] first or use the *Flat loss types");
}

// The shape of t for a message (building the string only when a check failed).
template <class T, class D>
std::string shape_text(const Tensor<T, D>& t) {
  return t.defined() ? t.shape().str() : std::string("an undefined tensor");
}

// An input or an output the caller provides must have its shape (outputs are written, never resized).
template <class T, class D>
void check_shape(std::string_view op, std::string_view name, const Tensor<T, D>& t, const Shape& want) {
  if (!(t.defined() && t.shape() == want))
    throw ShapeError(detail::msg(op, ": '", name, "' must have shape ", want, ", got ", shape_text(t)));
}

// An output that is computed in chunks from an input must not share memory with it.
template <class T, class U, class D>
void check_no_overlap(std::string_view op, std::string_view out_name, const Tensor<T, D>& out, std::string_view in_name,
                      const Tensor<U, D>& in) {
  const auto *o = reinterpret_cast<const char*>(out.data()), *i = reinterpret_cast<const char*>(in.data());
  const bool overlap = o < i + in.nbytes() && i < o + out.nbytes();
  check<ValueError>(!overlap, op, ": '", out_name, "' must not share memory with '", in_name,
                    "' (the kernel reads each row of it after writing part of the output)");
}

// Class weights: undefined (all ones) or [C].
template <class D>
void check_class_weight(std::string_view op, const Tensor<float, D>& w, std::int64_t classes,
                        std::string_view name = "weight") {
  if (!w.defined()) return;
  check<ShapeError>(w.rank() == 1 && w.size(0) == classes, op, ": ", name, " must have shape [", classes,
                    "] (one per class), got ", w.shape());
}

template <class D>
const float* data_or_null(const Tensor<float, D>& w) {
  return w.defined() ? w.data() : nullptr;
}

template <class Targets, class D>
concept ClassIndicesOn = is_class_index_tensor_v<Targets> && std::same_as<typename Targets::device_type, D>;

// Class indices as int64 for the kernels (a handle when they are int64 already). The functions take
// targets of any type, so that other types stop the build here with a sentence naming the fix, not with
// "no matching function" at the call.
template <class D, class Targets>
Tensor<std::int64_t, D> class_indices(std::string_view op, const Targets& t) {
  static_assert(ClassIndicesOn<Targets, D>,
                "class-index targets are a tensor of int64, int32 or uint8 on the logits' device (move them there "
                "with .to<Device>()); for one-hot or multi-label float targets use BCEWithLogitsLossFlat or "
                "binary_cross_entropy_with_logits");
  if constexpr (!ClassIndicesOn<Targets, D>) {
    return {};
  } else if constexpr (std::is_same_v<Targets, Tensor<std::int64_t, D>>) {
    return t;
  } else {
    defined_shape(op, "targets", t);
    auto wide = Tensor<std::int64_t, D>::empty(t.shape());
    backend::loss_kernels<D>::widen_targets(t.data(), t.numel(), wide.data());
    return wide;
  }
}

// Logits [N, C] and their targets, checked: class indices [N] as int64, each in [0, C) or ignore_index,
// and the divisor of the mean, the sum of the class weights of the rows that count (their number
// without weights).
template <class D>
struct CheckedTargets {
  Tensor<std::int64_t, D> t;
  double total;
};
template <class T, class D, class Targets>
CheckedTargets<D> checked_targets(std::string_view op, const Tensor<T, D>& x, const Targets& target,
                                  std::int64_t ignore_index, const Tensor<float, D>& w) {
  check_logits(op, x);
  const std::int64_t rows = x.size(0), classes = x.size(1);
  auto t = class_indices<D>(op, target);
  check_shape(op, "targets", t, Shape{rows});  // one class index per row
  check_class_weight(op, w, classes);
  std::int64_t bad_row = -1, bad_value = 0;
  const double total = backend::loss_kernels<D>::scan_targets(t.data(), rows, classes, ignore_index, data_or_null(w),
                                                               &bad_row, &bad_value);
  check<IndexError>(bad_row < 0, op, ": target ", bad_value, " at row ", bad_row, " is not a class index in [0, ",
                    classes, ") and not the ignore_index ", ignore_index);
  return {t, total};
}

// The shape of a loss over rows: [N] without reduction, [1] otherwise; the divisor of its mean (the
// total weight, or the count of rows or elements).
inline Shape loss_shape(Reduction r, std::int64_t rows) { return r == Reduction::none ? Shape{rows} : Shape{1}; }
inline double divisor_of(Reduction r, double total_weight) { return r == Reduction::mean ? total_weight : 1.0; }

template <class T, class D>
Tensor<acc_t<T>, D> widened(const Tensor<T, D>& x) {
  if constexpr (std::is_same_v<T, acc_t<T>>) {
    return x;
  } else {
    static_assert(HostDevice<D>, "half and bfloat16 losses are computed in float by widening on the host; on this "
                                 "device, convert the logits to float first (tensor.cast<float>() on the host)");
    return x.template cast<acc_t<T>>();
  }
}

// Runs kernel(inputs' data..., output data) in the kernels' type: 16-bit inputs are widened, and a 16-bit
// output is computed in a float buffer, then narrowed into `out`.
template <class T, class D, class K, class... In>
void run_kernel(K&& kernel, Tensor<T, D>& out, const In&... in) {
  if constexpr (std::is_same_v<T, acc_t<T>>) {
    kernel(in.data()..., out.data());
  } else {
    auto wide = Tensor<acc_t<T>, D>::empty(out.shape());
    kernel(widened(in).data()..., wide.data());
    for (std::int64_t i = 0; i < out.numel(); ++i) out.data()[i] = static_cast<T>(wide.data()[i]);
  }
}

}  // namespace fastpp::loss_detail
