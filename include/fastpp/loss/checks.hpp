#pragma once
// Run-time checks shared by the loss functions. They run before any output is written, so a bad target
// leaves the caller's buffers untouched, and every message names the operation, the row and the value.
#include <cstdint>
#include <string>
#include <string_view>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../backend/cpu/loss_kernels.hpp"  // the default device's table; loss/ calls loss_kernels<D>
#include "../backend/kernels.hpp"
#include "options.hpp"

namespace fastpp::loss_detail {

// Logits must be [N, C]: the class axis is axis 1 (flatten other layouts first, as the *Flat losses do).
template <class T, class D>
void check_logits(std::string_view op, const Tensor<T, D>& x) {
  check<ShapeError>(x.defined(), op, ": the logits tensor is undefined");
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

// Targets are class indices [N]; each is in [0, C) or equals ignore_index. Returns the sum of the class
// weights of the rows that count (their number when there are no weights): the divisor of the mean.
template <class D>
double check_targets_and_weigh(std::string_view op, const Tensor<std::int64_t, D>& target, std::int64_t rows,
                               std::int64_t classes, std::int64_t ignore_index, const Tensor<float, D>& w) {
  if (!(target.defined() && target.rank() == 1 && target.size(0) == rows))
    throw ShapeError(detail::msg(op, ": targets must have shape [", rows, "] (one class index per row), got ",
                                 shape_text(target)));
  check_class_weight(op, w, classes);
  std::int64_t bad_row = -1, bad_value = 0;
  const double total = backend::loss_kernels<D>::scan_targets(target.data(), rows, classes, ignore_index,
                                                               data_or_null(w), &bad_row, &bad_value);
  check<IndexError>(bad_row < 0, op, ": target ", bad_value, " at row ", bad_row, " is not a class index in [0, ",
                    classes, ") and not the ignore_index ", ignore_index);
  return total;
}

// The shape of a loss: [N] without reduction, [1] otherwise.
inline Shape loss_shape(Reduction r, std::int64_t rows) { return r == Reduction::none ? Shape{rows} : Shape{1}; }

}  // namespace fastpp::loss_detail
