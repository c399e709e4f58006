#pragma once
// Run-time checks shared by the loss functions. They run before any output is written, so a bad target
// leaves the caller's buffers untouched, and every message names the operation, the row and the value.
#include <cstdint>
#include <string>
#include <string_view>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "options.hpp"

namespace fastpp::loss_detail {

// Logits must be [N, C]: the class axis is axis 1 (flatten other layouts first, as the *Flat losses do).
template <class T>
void check_logits(std::string_view op, const Tensor<T>& x) {
  check<ShapeError>(x.defined(), op, ": the logits tensor is undefined");
  check<ShapeError>(x.rank() == 2, op, ": expected logits of shape [N, C] (rank 2), got shape ", x.shape(),
                    "; reshape to [-1, C] first or use the *Flat loss types");
}

// An output the caller provides must already have the right shape (it is written, never resized).
// The shape of t for a message (building the string only when a check failed).
template <class T>
std::string shape_text(const Tensor<T>& t) {
  return t.defined() ? t.shape().str() : std::string("an undefined tensor");
}

template <class T>
void check_out(std::string_view op, std::string_view name, const Tensor<T>& out, const Shape& want) {
  if (!(out.defined() && out.shape() == want))
    throw ShapeError(detail::msg(op, ": output '", name, "' must have shape ", want, ", got ", shape_text(out)));
}

template <class T>
void check_same_shape(std::string_view op, std::string_view a_name, const Tensor<T>& a, std::string_view b_name,
                      const Shape& b) {
  if (!(a.defined() && a.shape() == b))
    throw ShapeError(detail::msg(op, ": '", a_name, "' must have the shape of '", b_name, "' ", b, ", got ", shape_text(a)));
}

// An output that is computed in chunks from an input must not share memory with it.
template <class T>
void check_no_overlap(std::string_view op, std::string_view out_name, const Tensor<T>& out, std::string_view in_name,
                      const Tensor<T>& in) {
  const T *o = out.data(), *i = in.data();
  const bool overlap = o < i + in.numel() && i < o + out.numel();
  check<ValueError>(!overlap, op, ": '", out_name, "' must not share memory with '", in_name,
                    "' (the kernel reads each row of it after writing part of the output)");
}

// Class weights: undefined (all ones) or [C].
inline void check_class_weight(std::string_view op, const Tensor<float>& w, std::int64_t classes,
                               std::string_view name = "weight") {
  if (!w.defined()) return;
  check<ShapeError>(w.rank() == 1 && w.size(0) == classes, op, ": ", name, " must have shape [", classes,
                    "] (one per class), got ", w.shape());
}

// Targets are class indices [N]; each is in [0, C) or equals ignore_index. Returns the sum of the class
// weights of the rows that count (their number when there are no weights): the divisor of the mean.
inline double check_targets_and_weigh(std::string_view op, const Tensor<std::int64_t>& target, std::int64_t rows,
                                      std::int64_t classes, std::int64_t ignore_index, const Tensor<float>& w) {
  if (!(target.defined() && target.rank() == 1 && target.size(0) == rows))
    throw ShapeError(detail::msg(op, ": targets must have shape [", rows, "] (one class index per row), got ",
                                 shape_text(target)));
  check_class_weight(op, w, classes);
  const std::int64_t* t = target.data();
  const float* pw = w.defined() ? w.data() : nullptr;
  const auto valid = [&](std::int64_t v) { return v == ignore_index || (v >= 0 && v < classes); };
  const auto report = [&] {  // the first bad row, named
    for (std::int64_t i = 0; i < rows; ++i)
      check<IndexError>(valid(t[i]), op, ": target ", t[i], " at row ", i, " is not a class index in [0, ", classes,
                        ") and not the ignore_index ", ignore_index);
  };
  if (!pw) {  // the common case, one branch-free pass (it vectorises): a row counts 1 unless ignored
    std::int64_t bad = 0, ignored = 0;
    for (std::int64_t i = 0; i < rows; ++i) {
      const std::int64_t is_ignored = t[i] == ignore_index;  // 0 or 1
      // a negative index is a huge unsigned one
      bad |= (1 - is_ignored) & static_cast<std::int64_t>(static_cast<std::uint64_t>(t[i]) >=
                                                          static_cast<std::uint64_t>(classes));
      ignored += is_ignored;
    }
    if (bad) report();
    return static_cast<double>(rows - ignored);
  }
  double total = 0;
  for (std::int64_t i = 0; i < rows; ++i) {
    if (t[i] == ignore_index) continue;
    if (!valid(t[i])) report();
    total += static_cast<double>(pw[t[i]]);
  }
  return total;
}

// The shape of a loss: [N] without reduction, [1] otherwise.
inline Shape loss_shape(Reduction r, std::int64_t rows) { return r == Reduction::none ? Shape{rows} : Shape{1}; }

// The gradient of a loss must have the loss's shape.
template <class A>
void check_loss_grad(std::string_view op, const Tensor<A>& g, Reduction r, std::int64_t rows) {
  check_same_shape(op, "grad", g, "loss", loss_shape(r, rows));
}

}  // namespace fastpp::loss_detail
