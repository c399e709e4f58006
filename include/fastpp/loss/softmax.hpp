#pragma once
// softmax and log_softmax over the class axis of [N, C] logits, forward and backward, on the CPU.
// Each has an `_out` form that writes into tensors the caller owns (a training loop reuses them, and
// pays no page faults for fresh memory) and an allocating form for convenience.
#include <algorithm>

#include "../core/thread_pool.hpp"
#include "checks.hpp"
#include "row_blocks.hpp"
#include "row_math.hpp"
#include "stream_out.hpp"

namespace fastpp {

namespace loss_detail {
// Calls f(i) for each row i, rows split over the compute pool.
template <class F>
void for_each_row(std::int64_t rows, std::int64_t row_length, F&& f) {
  fastpp::parallel_for(0, rows, rows_per_block(row_length), [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) f(i);
  });
}
// Calls f(i, count, out) for groups of count <= loss_math::row_group rows starting at row i, in parallel;
// `out` is where row i's output goes: the output tensor's row i, or (when the output and the `inputs`
// tensors of its size f reads are larger than the caches, see stream_out.hpp) a staging buffer that is
// then streamed there.
template <class T, class F>
void for_each_row_group(std::int64_t rows, std::int64_t row_length, int inputs, T* out, F&& f) {
  constexpr std::int64_t G = loss_math::row_group;
  const bool stream = should_stream<T>(rows, row_length, inputs);
  const std::int64_t per = rows_per_block(row_length);
  fastpp::parallel_for_balanced(0, (rows + per - 1) / per, [&](std::int64_t blk) {
    const std::int64_t r0 = blk * per, r1 = std::min(rows, r0 + per);
    write_rows(r0, r1, row_length, out, stream, G, [&](std::int64_t i0, std::int64_t i1, T* o) {
      for (std::int64_t i = i0; i < i1; i += G) f(i, static_cast<int>(std::min(G, i1 - i)), o + (i - i0) * row_length);
    });
  });
}
}  // namespace loss_detail

// y = softmax(x) along axis 1.
template <FloatDType T>
void softmax_out(const Tensor<T>& x, Tensor<T>& y) {
  loss_detail::check_logits("softmax", x);
  loss_detail::check_out("softmax", "y", y, x.shape());
  loss_detail::check_no_overlap("softmax", "y", y, "x", x);
  const std::int64_t n = x.size(0), c = x.size(1);
  const T* px = x.data();
  T* py = y.data();
  loss_detail::for_each_row_group(n, c, 1, py, [&](std::int64_t i, int count, T* out) {
    loss_math::rows_softmax(px + i * c, c, c, count, out);
  });
}
template <FloatDType T>
Tensor<T> softmax(const Tensor<T>& x) {
  loss_detail::check_logits("softmax", x);
  auto y = Tensor<T>::empty(x.shape());
  softmax_out(x, y);
  return y;
}

// dx = y * (dy - sum_j dy_j y_j), from the softmax output y.
template <FloatDType T>
void softmax_backward_out(const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>& dx) {
  loss_detail::check_logits("softmax_backward", y);
  loss_detail::check_same_shape("softmax_backward", "dy", dy, "y", y.shape());
  loss_detail::check_out("softmax_backward", "dx", dx, y.shape());
  loss_detail::check_no_overlap("softmax_backward", "dx", dx, "y", y);
  loss_detail::check_no_overlap("softmax_backward", "dx", dx, "dy", dy);
  const std::int64_t n = y.size(0), c = y.size(1);
  const T *py = y.data(), *pdy = dy.data();
  T* pdx = dx.data();
  loss_detail::for_each_row_group(n, c, 2, pdx, [&](std::int64_t i, int count, T* out) {
    loss_math::rows_softmax_backward(py + i * c, pdy + i * c, c, c, count, out);
  });
}
template <FloatDType T>
Tensor<T> softmax_backward(const Tensor<T>& y, const Tensor<T>& dy) {
  loss_detail::check_logits("softmax_backward", y);
  auto dx = Tensor<T>::empty(y.shape());
  softmax_backward_out(y, dy, dx);
  return dx;
}

// y = x - logsumexp(x) along axis 1: the log of softmax without ever taking the log of a tiny number.
template <FloatDType T>
void log_softmax_out(const Tensor<T>& x, Tensor<T>& y) {
  loss_detail::check_logits("log_softmax", x);
  loss_detail::check_out("log_softmax", "y", y, x.shape());
  loss_detail::check_no_overlap("log_softmax", "y", y, "x", x);
  const std::int64_t n = x.size(0), c = x.size(1);
  const T* px = x.data();
  T* py = y.data();
  loss_detail::for_each_row_group(n, c, 1, py, [&](std::int64_t i, int count, T* out) {
    acc_t<T> lse[loss_math::row_group];
    loss_math::rows_logsumexp(px + i * c, c, c, count, lse);
    for (int r = 0; r < count; ++r) loss_math::row_shift(px + (i + r) * c, c, lse[r], out + r * c);
  });
}
template <FloatDType T>
Tensor<T> log_softmax(const Tensor<T>& x) {
  loss_detail::check_logits("log_softmax", x);
  auto y = Tensor<T>::empty(x.shape());
  log_softmax_out(x, y);
  return y;
}

// dx = dy - exp(y) * sum_j dy_j, from the log_softmax output y.
template <FloatDType T>
void log_softmax_backward_out(const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>& dx) {
  loss_detail::check_logits("log_softmax_backward", y);
  loss_detail::check_same_shape("log_softmax_backward", "dy", dy, "y", y.shape());
  loss_detail::check_out("log_softmax_backward", "dx", dx, y.shape());
  loss_detail::check_no_overlap("log_softmax_backward", "dx", dx, "y", y);
  loss_detail::check_no_overlap("log_softmax_backward", "dx", dx, "dy", dy);
  const std::int64_t n = y.size(0), c = y.size(1);
  const T *py = y.data(), *pdy = dy.data();
  T* pdx = dx.data();
  loss_detail::for_each_row_group(n, c, 2, pdx, [&](std::int64_t i, int count, T* out) {
    loss_math::rows_log_softmax_backward(py + i * c, pdy + i * c, c, c, count, out);
  });
}
template <FloatDType T>
Tensor<T> log_softmax_backward(const Tensor<T>& y, const Tensor<T>& dy) {
  loss_detail::check_logits("log_softmax_backward", y);
  auto dx = Tensor<T>::empty(y.shape());
  log_softmax_backward_out(y, dy, dx);
  return dx;
}

// Index of the largest value of each row (the first one on ties), as fastai's decodes for
// CrossEntropyLossFlat: predicted classes from logits or probabilities.
template <FloatDType T>
Tensor<std::int64_t> argmax(const Tensor<T>& x) {
  loss_detail::check_logits("argmax", x);
  const std::int64_t n = x.size(0), c = x.size(1);
  auto out = Tensor<std::int64_t>::empty({n});
  for (std::int64_t i = 0; i < n; ++i) {
    const T* row = x.data() + i * c;
    std::int64_t best = 0;
    for (std::int64_t j = 1; j < c; ++j)
      if (static_cast<acc_t<T>>(row[j]) > static_cast<acc_t<T>>(row[best])) best = j;
    out.data()[i] = best;
  }
  return out;
}

}  // namespace fastpp
