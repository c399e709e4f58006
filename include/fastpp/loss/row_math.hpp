#pragma once
// The per-row and per-element math of the loss kernels, written once for the CPU loops and a CUDA kernel
// (one thread per row, or the element functions inside a block reduction). Every function takes the
// storage type T of the logits and computes in acc_t<T> (float for half and bfloat16).
//
// Rows are walked in chunks of `lanes` values with `lanes` independent accumulators: the compiler keeps
// them in one AVX2 register (two for double) and the loop vectorises without -ffast-math, because the
// order of the additions is fixed by the code, not left to the compiler. The ragged end of a row is
// padded to a full chunk (with -inf before exp, with 0 for sums), so short rows such as 37 classes stay
// vectorised too.
#include <cstdint>
#include <limits>

#include "../core/dtype.hpp"
#include "../core/host_device.hpp"
#include "fast_exp.hpp"

namespace fastpp::loss_math {

inline constexpr int lanes = 8;

template <class T>
FASTPP_HD_INLINE acc_t<T> load(const T* p, std::int64_t j) {
  return static_cast<acc_t<T>>(p[j]);
}

template <class A>
FASTPP_HD_INLINE A neg_inf() {
  return -std::numeric_limits<A>::infinity();
}

template <class A>
FASTPP_HD_INLINE A lane_sum(const A (&s)[lanes]) {
  // pairwise, in a fixed order: the same bits on every machine and thread count
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

// max_j x_j (NaNs are skipped here; they still reach the result through exp and the sums).
template <class T>
FASTPP_HD acc_t<T> row_max(const T* x, std::int64_t n) {
  using A = acc_t<T>;
  A m[lanes];
  for (int k = 0; k < lanes; ++k) m[k] = neg_inf<A>();
  std::int64_t j = 0;
  for (; j + lanes <= n; j += lanes)
    for (int k = 0; k < lanes; ++k) m[k] = max_of(load(x, j + k), m[k]);
  for (; j < n; ++j) m[0] = max_of(load(x, j), m[0]);
  A r = m[0];
  for (int k = 1; k < lanes; ++k) r = max_of(m[k], r);
  return r;
}

// sum_j x_j
template <class T>
FASTPP_HD acc_t<T> row_sum(const T* x, std::int64_t n) {
  using A = acc_t<T>;
  A s[lanes] = {};
  std::int64_t j = 0;
  for (; j + lanes <= n; j += lanes)
    for (int k = 0; k < lanes; ++k) s[k] += load(x, j + k);
  for (int k = 0; j + k < n; ++k) s[k] += load(x, j + k);
  return lane_sum(s);
}

// sum_j a_j * b_j
template <class T>
FASTPP_HD acc_t<T> row_dot(const T* a, const T* b, std::int64_t n) {
  using A = acc_t<T>;
  A s[lanes] = {};
  std::int64_t j = 0;
  for (; j + lanes <= n; j += lanes)
    for (int k = 0; k < lanes; ++k) s[k] += load(a, j + k) * load(b, j + k);
  for (int k = 0; j + k < n; ++k) s[k] += load(a, j + k) * load(b, j + k);
  return lane_sum(s);
}

// The last, partial chunk of a row as a full chunk: values past n read as `pad`.
template <class T>
FASTPP_HD_INLINE void load_tail(const T* x, std::int64_t j, std::int64_t n, acc_t<T> pad, acc_t<T> (&v)[lanes]) {
  for (int k = 0; k < lanes; ++k) v[k] = pad;
  for (int k = 0; j + k < n; ++k) v[k] = load(x, j + k);
}

// sum_j exp(x_j - shift)
template <class T>
FASTPP_HD acc_t<T> row_sum_exp(const T* x, std::int64_t n, acc_t<T> shift) {
  using A = acc_t<T>;
  A s[lanes] = {};
  std::int64_t j = 0;
  for (; j + lanes <= n; j += lanes)
    for (int k = 0; k < lanes; ++k) s[k] += exp_acc(load(x, j + k) - shift);
  if (j < n) {
    A v[lanes];
    load_tail(x, j, n, neg_inf<A>(), v);
    for (int k = 0; k < lanes; ++k) s[k] += exp_acc(v[k] - shift);
  }
  return lane_sum(s);
}

// out_j = exp(x_j - shift); returns sum_j exp(x_j - shift) (as computed before rounding to T).
template <class T>
FASTPP_HD acc_t<T> row_exp_store(const T* x, std::int64_t n, acc_t<T> shift, T* out) {
  using A = acc_t<T>;
  A s[lanes] = {};
  std::int64_t j = 0;
  for (; j + lanes <= n; j += lanes)
    for (int k = 0; k < lanes; ++k) {
      const A e = exp_acc(load(x, j + k) - shift);
      s[k] += e;
      out[j + k] = static_cast<T>(e);
    }
  if (j < n) {
    A v[lanes];
    load_tail(x, j, n, neg_inf<A>(), v);
    for (int k = 0; k < lanes; ++k) {
      v[k] = exp_acc(v[k] - shift);
      s[k] += v[k];
    }
    for (int k = 0; j + k < n; ++k) out[j + k] = static_cast<T>(v[k]);
  }
  return lane_sum(s);
}

// out_j = scale * exp(x_j - shift)
template <class T>
FASTPP_HD void row_scaled_exp(const T* x, std::int64_t n, acc_t<T> shift, acc_t<T> scale, T* out) {
  using A = acc_t<T>;
  std::int64_t j = 0;
  for (; j + lanes <= n; j += lanes)
    for (int k = 0; k < lanes; ++k) out[j + k] = static_cast<T>(scale * exp_acc(load(x, j + k) - shift));
  if (j < n) {
    A v[lanes];
    load_tail(x, j, n, neg_inf<A>(), v);
    for (int k = 0; k < lanes; ++k) v[k] = scale * exp_acc(v[k] - shift);
    for (int k = 0; j + k < n; ++k) out[j + k] = static_cast<T>(v[k]);
  }
}

// y_j = y_j * scale + offset, in place
template <class T>
FASTPP_HD void row_affine_inplace(T* y, std::int64_t n, acc_t<T> scale, acc_t<T> offset) {
  for (std::int64_t j = 0; j < n; ++j) y[j] = static_cast<T>(load(y, j) * scale + offset);
}

// y_j = x_j - shift
template <class T>
FASTPP_HD void row_shift(const T* x, std::int64_t n, acc_t<T> shift, T* y) {
  for (std::int64_t j = 0; j < n; ++j) y[j] = static_cast<T>(load(x, j) - shift);
}

// log(sum_j exp(x_j)), computed as max + log(sum exp(x - max)) so that no exp overflows.
template <class T>
FASTPP_HD acc_t<T> row_logsumexp(const T* x, std::int64_t n) {
  const acc_t<T> m = row_max(x, n);
  return m + log_acc(row_sum_exp(x, n, m));
}

// softmax of one row: y = exp(x - max) / sum exp(x - max). exp is computed once per element.
template <class T>
FASTPP_HD void softmax_row(const T* x, std::int64_t n, T* y) {
  using A = acc_t<T>;
  const A m = row_max(x, n);
  const A s = row_exp_store(x, n, m, y);
  row_affine_inplace(y, n, A(1) / s, A(0));
}

// log_softmax of one row: y = x - logsumexp(x). Returns the logsumexp.
template <class T>
FASTPP_HD acc_t<T> log_softmax_row(const T* x, std::int64_t n, T* y) {
  const acc_t<T> lse = row_logsumexp(x, n);
  row_shift(x, n, lse, y);
  return lse;
}

// Backward of softmax: dx = y * (dy - sum(dy * y)).
template <class T>
FASTPP_HD void softmax_backward_row(const T* y, const T* dy, std::int64_t n, T* dx) {
  using A = acc_t<T>;
  const A dot = row_dot(dy, y, n);
  for (std::int64_t j = 0; j < n; ++j) dx[j] = static_cast<T>(load(y, j) * (load(dy, j) - dot));
}

// Backward of log_softmax: dx = dy - exp(y) * sum(dy).
template <class T>
FASTPP_HD void log_softmax_backward_row(const T* y, const T* dy, std::int64_t n, T* dx) {
  using A = acc_t<T>;
  const A sdy = row_sum(dy, n);
  std::int64_t j = 0;
  for (; j + lanes <= n; j += lanes)
    for (int k = 0; k < lanes; ++k)
      dx[j + k] = static_cast<T>(load(dy, j + k) - exp_acc(load(y, j + k)) * sdy);
  for (; j < n; ++j) dx[j] = static_cast<T>(load(dy, j) - exp_acc(load(y, j)) * sdy);
}

// The gradient of a softmax-based loss for one row, in one pass over the row:
//   dx_j = a * softmax(x)_j - c  for j != t,   dx_t = a * softmax(x)_t - b - c,
// which covers cross-entropy (a = b = the row's scale, c = 0) and label smoothing. exp is computed once
// per element: it is stored in dx, then scaled while the row is still in the L1 cache.
// Returns the row's logsumexp (for the loss value).
template <class T>
FASTPP_HD acc_t<T> softmax_loss_row_fused(const T* x, std::int64_t n, std::int64_t t, acc_t<T> a, acc_t<T> b,
                                          acc_t<T> c, T* dx) {
  using A = acc_t<T>;
  const A m = row_max(x, n);
  const A s = row_exp_store(x, n, m, dx);
  row_affine_inplace(dx, n, a / s, -c);
  if (t >= 0 && t < n) dx[t] = static_cast<T>(load(dx, t) - b);
  return m + log_acc(s);
}

// The same gradient from the logsumexp saved by the forward pass: one read of x, one write of dx.
template <class T>
FASTPP_HD void softmax_loss_row_backward(const T* x, std::int64_t n, acc_t<T> lse, std::int64_t t, acc_t<T> a,
                                         acc_t<T> b, acc_t<T> c, T* dx) {
  std::int64_t j = 0;
  for (; j + lanes <= n; j += lanes)
    for (int k = 0; k < lanes; ++k) dx[j + k] = static_cast<T>(a * exp_acc(load(x, j + k) - lse) - c);
  for (; j < n; ++j) dx[j] = static_cast<T>(a * exp_acc(load(x, j) - lse) - c);
  if (t >= 0 && t < n) dx[t] = static_cast<T>(load(dx, t) - b);
}

// ---- element-wise: sigmoid and binary cross-entropy on logits ----------------------------------------

// 1 / (1 + exp(-x)), without overflow for either sign: with e = exp(-|x|) <= 1,
// sigmoid = 1/(1+e) for x >= 0 and e/(1+e) for x < 0.
template <class A>
FASTPP_HD_INLINE A sigmoid(A x) {
  const A e = exp_acc(select(x < A(0), x, -x));
  const A r = A(1) / (A(1) + e);
  return select(x < A(0), e * r, r);
}

// log(1 + exp(-x)), stable: max(-x, 0) + log1p(exp(-|x|)).
template <class A>
FASTPP_HD_INLINE A softplus_neg(A x) {
  return select(x < A(0), -x, A(0)) + log1p_acc(exp_acc(select(x < A(0), x, -x)));
}

// PyTorch's binary_cross_entropy_with_logits for one element, with a class weight w and positive weight pw:
//   w * ((1 - y) x + (1 + (pw - 1) y) log(1 + exp(-x)))
template <class A>
FASTPP_HD_INLINE A bce_with_logits(A x, A y, A w, A pw) {
  return w * ((A(1) - y) * x + (A(1) + (pw - A(1)) * y) * softplus_neg(x));
}

// d/dx of bce_with_logits: w * ((1 - y) - (1 + (pw - 1) y) sigmoid(-x)).
template <class A>
FASTPP_HD_INLINE A bce_with_logits_grad(A x, A y, A w, A pw) {
  return w * ((A(1) - y) - (A(1) + (pw - A(1)) * y) * sigmoid(-x));
}

}  // namespace fastpp::loss_math
