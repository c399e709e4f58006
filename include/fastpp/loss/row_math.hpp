#pragma once
// The per-row and per-element math of the loss kernels, written once for the CPU loops and a CUDA kernel
// (one thread per row, or the element functions inside a block reduction). Every function takes the
// storage type T of the logits and computes in acc_t<T> (float for half and bfloat16).
//
// Rows are walked in chunks of `lanes` values with `lanes` independent accumulators, so the order of the
// additions is fixed by the code (the same result on every thread count, and vectorisable without
// -ffast-math). The ragged end of a row is covered by one more, overlapping chunk (see full_chunks_end).
// These portable loops serve double, half, bfloat16, CUDA device code and hosts without AVX2; float rows on
// an AVX2 host go to the same formulas in simd_rows.hpp, because compilers do not vectorise these loops
// reliably (FASTPP_LOSS_SIMD_CALL below).
#include <cstdint>
#include <limits>
#include <type_traits>

#include "../core/dtype.hpp"
#include "../core/host_device.hpp"
#include "fast_exp.hpp"
#include "simd_flat.hpp"

namespace fastpp::loss_math {

// For float rows of at least one chunk on an AVX2 host, the loops of simd_rows.hpp run instead.
#if defined(FASTPP_LOSS_SIMD)
#define FASTPP_LOSS_SIMD_CALL(T, n, call)                    \
  if constexpr (std::is_same_v<T, float>)                    \
    if (n >= loss_simd::width) return loss_simd::call;
#else
#define FASTPP_LOSS_SIMD_CALL(T, n, call)
#endif

inline constexpr int lanes = 8;

// Fully unrolls a loop over the `lanes` values of a chunk, so the compiler turns the chunk into one
// vector operation (GCC otherwise vectorises such 8-step loops as loops, with run-time alias checks).
#if defined(__CUDACC__) || defined(__clang__)
#define FASTPP_LOSS_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define FASTPP_LOSS_UNROLL _Pragma("GCC unroll 8")
#else
#define FASTPP_LOSS_UNROLL
#endif

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

// Rows are processed in chunks of `lanes`. A row of n >= lanes values whose length is not a multiple
// of lanes ends with one more full chunk that starts at n - lanes and overlaps the previous one: the
// first `skip` lanes of that chunk were done already, so sums leave them out (stores just write the same
// value twice, which is why the output must not alias the input). Rows shorter than a chunk go one
// value at a time. So a row of 37 classes is 5 vector chunks, not 4 chunks and 5 scalar steps.
FASTPP_HD_INLINE std::int64_t full_chunks_end(std::int64_t n) { return n - n % lanes; }

// max_j x_j (NaNs are skipped here; they still reach the result through exp and the sums).
template <class T>
FASTPP_HD acc_t<T> row_max(const T* x, std::int64_t n) {
  FASTPP_LOSS_SIMD_CALL(T, n, row_max(x, n))
  using A = acc_t<T>;
  A m[lanes];
  FASTPP_LOSS_UNROLL for (int k = 0; k < lanes; ++k) m[k] = neg_inf<A>();
  if (n < lanes) {
    for (std::int64_t j = 0; j < n; ++j) m[0] = max_of(load(x, j), m[0]);
    return m[0];
  }
  const std::int64_t end = full_chunks_end(n);
  for (std::int64_t j = 0; j < end; j += lanes) {
    FASTPP_LOSS_UNROLL for (int k = 0; k < lanes; ++k) m[k] = max_of(load(x, j + k), m[k]);
  }
  if (end < n) {  // overlapping last chunk: max does not mind seeing a value twice
    FASTPP_LOSS_UNROLL for (int k = 0; k < lanes; ++k) m[k] = max_of(load(x, n - lanes + k), m[k]);
  }
  A r = m[0];
  FASTPP_LOSS_UNROLL for (int k = 1; k < lanes; ++k) r = max_of(m[k], r);
  return r;
}

// sum_j f(j) over a row, with `lanes` accumulators; f(j) is computed once per value.
template <class A, class F>
FASTPP_HD_INLINE A row_reduce_sum(std::int64_t n, F f) {
  A s[lanes];
  FASTPP_LOSS_UNROLL for (int k = 0; k < lanes; ++k) s[k] = A(0);
  if (n < lanes) {
    for (std::int64_t j = 0; j < n; ++j) s[j] += f(j);
    return lane_sum(s);
  }
  const std::int64_t end = full_chunks_end(n);
  for (std::int64_t j = 0; j < end; j += lanes) {
    FASTPP_LOSS_UNROLL for (int k = 0; k < lanes; ++k) s[k] += f(j + k);
  }
  if (end < n) {
    const std::int64_t skip = end - (n - lanes);  // lanes of the overlapping chunk already summed
    FASTPP_LOSS_UNROLL for (int k = 0; k < lanes; ++k) {
      const A v = f(n - lanes + k);
      s[k] += select(k >= skip, v, A(0));
    }
  }
  return lane_sum(s);
}

// sum_j x_j
template <class T>
FASTPP_HD acc_t<T> row_sum(const T* x, std::int64_t n) {
  FASTPP_LOSS_SIMD_CALL(T, n, row_sum(x, n))
  return row_reduce_sum<acc_t<T>>(n, [x](std::int64_t j) { return load(x, j); });
}

// sum_j a_j * b_j
template <class T>
FASTPP_HD acc_t<T> row_dot(const T* a, const T* b, std::int64_t n) {
  FASTPP_LOSS_SIMD_CALL(T, n, row_dot(a, b, n))
  return row_reduce_sum<acc_t<T>>(n, [a, b](std::int64_t j) { return load(a, j) * load(b, j); });
}

// sum_j exp(x_j - shift), for shift >= max_j x_j
template <class T>
FASTPP_HD acc_t<T> row_sum_exp(const T* x, std::int64_t n, acc_t<T> shift) {
  FASTPP_LOSS_SIMD_CALL(T, n, row_sum_exp(x, n, shift))
  return row_reduce_sum<acc_t<T>>(n, [x, shift](std::int64_t j) { return exp_nonpos(load(x, j) - shift); });
}

// out_j = exp(x_j - shift) for shift >= max_j x_j; returns sum_j exp(x_j - shift) before rounding to T.
// out must not alias x.
template <class T>
FASTPP_HD acc_t<T> row_exp_store(const T* x, std::int64_t n, acc_t<T> shift, T* out) {
  FASTPP_LOSS_SIMD_CALL(T, n, row_exp_store(x, n, shift, out))
  return row_reduce_sum<acc_t<T>>(n, [x, shift, out](std::int64_t j) {
    const acc_t<T> e = exp_nonpos(load(x, j) - shift);
    out[j] = static_cast<T>(e);
    return e;
  });
}

// out_j = f(j) for every j, chunk by chunk (the last chunk may overlap: f must not read out).
template <class T, class F>
FASTPP_HD_INLINE void row_map(std::int64_t n, T* out, F f) {
  if (n < lanes) {
    for (std::int64_t j = 0; j < n; ++j) out[j] = static_cast<T>(f(j));
    return;
  }
  const std::int64_t end = full_chunks_end(n);
  for (std::int64_t j = 0; j < end; j += lanes) {
    FASTPP_LOSS_UNROLL for (int k = 0; k < lanes; ++k) out[j + k] = static_cast<T>(f(j + k));
  }
  if (end < n) {
    FASTPP_LOSS_UNROLL for (int k = 0; k < lanes; ++k) out[n - lanes + k] = static_cast<T>(f(n - lanes + k));
  }
}

// out_j = scale * exp(x_j - shift) - offset, for shift >= max_j x_j (up to rounding). out must not alias x.
template <class T>
FASTPP_HD void row_scaled_exp(const T* x, std::int64_t n, acc_t<T> shift, acc_t<T> scale, acc_t<T> offset, T* out) {
  FASTPP_LOSS_SIMD_CALL(T, n, row_scaled_exp(x, n, shift, scale, offset, out))
  row_map(n, out, [x, shift, scale, offset](std::int64_t j) { return scale * exp_nonpos(load(x, j) - shift) - offset; });
}

// y_j = y_j * scale + offset, in place (a plain loop: the compiler vectorises it with its own epilogue)
template <class T>
FASTPP_HD void row_affine_inplace(T* y, std::int64_t n, acc_t<T> scale, acc_t<T> offset) {
  FASTPP_LOSS_SIMD_CALL(T, n, row_affine_inplace(y, n, scale, offset))
  for (std::int64_t j = 0; j < n; ++j) y[j] = static_cast<T>(load(y, j) * scale + offset);
}

// y_j = x_j - shift
template <class T>
FASTPP_HD void row_shift(const T* x, std::int64_t n, acc_t<T> shift, T* y) {
  FASTPP_LOSS_SIMD_CALL(T, n, row_shift(x, n, shift, y))
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
  const acc_t<T> dot = row_dot(dy, y, n);
  for (std::int64_t j = 0; j < n; ++j) dx[j] = static_cast<T>(load(y, j) * (load(dy, j) - dot));
}

// Backward of log_softmax: dx = dy - exp(y) * sum(dy); y <= 0 are log-probabilities.
template <class T>
FASTPP_HD void log_softmax_backward_row(const T* y, const T* dy, std::int64_t n, T* dx) {
  FASTPP_LOSS_SIMD_CALL(T, n, log_softmax_backward(y, dy, n, row_sum(dy, n), dx))
  const acc_t<T> sdy = row_sum(dy, n);
  row_map(n, dx, [y, dy, sdy](std::int64_t j) { return load(dy, j) - exp_nonpos(load(y, j)) * sdy; });
}

// The gradient of a softmax-based loss for one row, in one pass over the row:
//   dx_j = a * softmax(x)_j - c  for j != t,   dx_t = a * softmax(x)_t - b - c,
// which covers cross-entropy (a = b = the row's scale, c = 0) and label smoothing. exp is computed once
// per element: it is stored in dx, then scaled while the row is still in the L1 cache. dx must not
// alias x. Returns the row's logsumexp (for the loss value).
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
  row_scaled_exp(x, n, lse, a, c, dx);
  if (t >= 0 && t < n) dx[t] = static_cast<T>(load(dx, t) - b);
}

// How far ahead of the row being worked on the kernels prefetch the input, in values: about 8 KiB of
// float logits and at least two rows, far enough that the lines arrive before the rows are reached,
// near enough that they are still in L1/L2 then.
FASTPP_HD_INLINE std::int64_t prefetch_distance(std::int64_t row_length) {
  return row_length * 2 > 2048 ? row_length * 2 : 2048;
}

// ---- groups of rows: the same math for up to `row_group` rows at once -------------------------------
// The drivers hand rows over in groups so that, for float rows, the AVX2 code can interleave several
// rows' dependency chains or transpose short rows into tiles (see simd_rows.hpp, simd_fused.hpp); elsewhere these just
// loop over the rows.
inline constexpr int row_group = 8;
#if defined(FASTPP_LOSS_SIMD)
static_assert(row_group == loss_simd::tile_rows && row_group % loss_simd::group == 0,
              "the drivers' row groups must be whole AVX2 groups");
#endif

// lse[r] = logsumexp of row r, for `count` <= row_group rows with leading dimension ld.
template <class T>
FASTPP_HD void rows_logsumexp(const T* x, std::int64_t ld, std::int64_t n, int count, acc_t<T>* lse) {
  int r = 0;
#if defined(FASTPP_LOSS_SIMD)
  if constexpr (std::is_same_v<T, float>) {
    if (n > loss_simd::tile_max_classes) {
      for (; r < count; ++r) lse[r] = loss_simd::row_logsumexp_long(x + r * ld, n, x + r * ld + prefetch_distance(n));
      return;
    }
    // 8 whole rows, one after another: one flat array (simd_flat.hpp), unless the group is not its to take
    if (n >= loss_simd::width && ld == n && count == loss_simd::tile_rows &&
        loss_simd::rows_logsumexp_flat(x, n, lse, x + prefetch_distance(n)))
      return;
    if (n >= loss_simd::width)
      for (; r + loss_simd::group <= count; r += loss_simd::group) loss_simd::rows_logsumexp(x + r * ld, ld, n, lse + r);
  }
#endif
  for (; r < count; ++r) lse[r] = row_logsumexp(x + r * ld, n);
}

// softmax of `count` <= row_group rows.
template <class T>
FASTPP_HD void rows_softmax(const T* x, std::int64_t ld, std::int64_t n, int count, T* y) {
  int r = 0;
#if defined(FASTPP_LOSS_SIMD)
  // softmax is the fused pass with a = 1, b = c = 0 and no target: the same kernels, prefetching included.
  if constexpr (std::is_same_v<T, float>) {
    if (n > loss_simd::tile_max_classes) {
      const std::int64_t ahead = prefetch_distance(n);
      for (; r < count; ++r)
        loss_simd::row_softmax_loss_fused_long<false>(x + r * ld, n, -1, 1.0f, 0.0f, 0.0f, y + r * ld, y + r * ld,
                                                      x + r * ld + ahead);
      return;
    }
    if (n >= loss_simd::width && ld == n && count == loss_simd::tile_rows) {
      // constants, not arrays filled on the stack: the kernels load them as vectors at once
      static constexpr std::int64_t no_target[loss_simd::tile_rows] = {-1, -1, -1, -1, -1, -1, -1, -1};
      static constexpr float one[loss_simd::tile_rows] = {1, 1, 1, 1, 1, 1, 1, 1}, zero[loss_simd::tile_rows] = {};
      float lse[loss_simd::tile_rows];
      const T* ahead = x + prefetch_distance(n);
      if (loss_simd::rows_softmax_loss_fused_flat(x, n, no_target, one, zero, zero, y, lse, ahead)) return;
      return loss_simd::rows_softmax_loss_fused_tiles(x, n, no_target, one, zero, zero, y, lse, ahead);
    }
    if (n >= loss_simd::width)
      for (; r + loss_simd::group <= count; r += loss_simd::group) loss_simd::rows_softmax(x + r * ld, ld, n, y + r * ld);
  }
#endif
  for (; r < count; ++r) softmax_row(x + r * ld, n, y + r * ld);
}

// softmax backward for `count` <= row_group rows; y, dy and dx have leading dimension ld.
template <class T>
FASTPP_HD void rows_softmax_backward(const T* y, const T* dy, std::int64_t ld, std::int64_t n, int count, T* dx) {
  int r = 0;
#if defined(FASTPP_LOSS_SIMD)
  if constexpr (std::is_same_v<T, float>) {
    if (n > loss_simd::tile_max_classes) {
      for (; r < count; ++r)
        loss_simd::row_softmax_backward_long(y + r * ld, dy + r * ld, n, dx + r * ld, prefetch_distance(n));
      return;
    }
    if (n >= loss_simd::width)
      for (; r + loss_simd::group <= count; r += loss_simd::group)
        loss_simd::rows_softmax_backward(y + r * ld, dy + r * ld, ld, n, dx + r * ld);
  }
#endif
  for (; r < count; ++r) softmax_backward_row(y + r * ld, dy + r * ld, n, dx + r * ld);
}

// log_softmax backward for `count` <= row_group rows; y, dy and dx have leading dimension ld.
template <class T>
FASTPP_HD void rows_log_softmax_backward(const T* y, const T* dy, std::int64_t ld, std::int64_t n, int count, T* dx) {
  int r = 0;
#if defined(FASTPP_LOSS_SIMD)
  if constexpr (std::is_same_v<T, float>) {
    if (n > loss_simd::tile_max_classes) {
      for (; r < count; ++r)
        loss_simd::row_log_softmax_backward_long(y + r * ld, dy + r * ld, n, dx + r * ld, prefetch_distance(n));
      return;
    }
    if (n >= loss_simd::width)
      for (; r + loss_simd::group <= count; r += loss_simd::group)
        loss_simd::rows_log_softmax_backward(y + r * ld, dy + r * ld, ld, n, dx + r * ld);
  }
#endif
  for (; r < count; ++r) log_softmax_backward_row(y + r * ld, dy + r * ld, n, dx + r * ld);
}

// Whether rows_softmax_loss_fused can write rows of n values to `dx` with non-temporal stores itself
// (long float rows, a multiple of 8 long, dx 32-byte aligned); others are streamed through a staging buffer.
template <class T>
FASTPP_HD_INLINE bool fused_rows_stream_directly(std::int64_t n, const T* dx) {
#if defined(FASTPP_LOSS_SIMD)
  if constexpr (std::is_same_v<T, float>)
    return n > loss_simd::tile_max_classes && n <= loss_simd::stream_row_max && n % loss_simd::width == 0 &&
           reinterpret_cast<std::uintptr_t>(dx) % 32 == 0;
#endif
  (void)n;
  (void)dx;
  return false;
}

// softmax_loss_row_fused for `count` <= row_group consecutive rows of n values (the rows of x and of dx are
// contiguous); t, a, b, c and lse hold one value per row. `ahead` points a fixed distance ahead of x in
// the input, for prefetching (never dereferenced). With `stream` (only where fused_rows_stream_directly
// said so) dx is written with non-temporal stores.
template <class T>
FASTPP_HD void rows_softmax_loss_fused(const T* x, std::int64_t n, int count, const std::int64_t* t, const acc_t<T>* a,
                             const acc_t<T>* b, const acc_t<T>* c, T* dx, acc_t<T>* lse, const T* ahead,
                             bool stream = false) {
#if defined(FASTPP_LOSS_SIMD)
  if constexpr (std::is_same_v<T, float>) {
    if (n > loss_simd::tile_max_classes) {
      if (stream) {
        alignas(64) float e[loss_simd::stream_row_max];
        for (int r = 0; r < count; ++r)
          lse[r] = loss_simd::row_softmax_loss_fused_long<true, true>(x + r * n, n, t[r], a[r], b[r], c[r], e,
                                                                      dx + r * n, ahead + r * n);
      } else {
        for (int r = 0; r < count; ++r)
          lse[r] = loss_simd::row_softmax_loss_fused_long(x + r * n, n, t[r], a[r], b[r], c[r], dx + r * n, dx + r * n,
                                                          ahead + r * n);
      }
      return;
    }
    if (n >= loss_simd::width && count == loss_simd::tile_rows) {
      if (loss_simd::rows_softmax_loss_fused_flat(x, n, t, a, b, c, dx, lse, ahead)) return;
      return loss_simd::rows_softmax_loss_fused_tiles(x, n, t, a, b, c, dx, lse, ahead);
    }
  }
#endif
  (void)ahead;
  (void)stream;
  for (int r = 0; r < count; ++r) lse[r] = softmax_loss_row_fused(x + r * n, n, t[r], a[r], b[r], c[r], dx + r * n);
}

// ---- element-wise: sigmoid and binary cross-entropy on logits ----------------------------------------

// 1 / (1 + exp(-x)), without overflow for either sign: with e = exp(-|x|) <= 1,
// sigmoid = 1/(1+e) for x >= 0 and e/(1+e) for x < 0.
template <class A>
FASTPP_HD_INLINE A sigmoid(A x) {
  const A e = exp_nonpos(select(x < A(0), x, -x));
  const A r = A(1) / (A(1) + e);
  return select(x < A(0), e * r, r);
}

// log(1 + exp(-x)), stable: max(-x, 0) + log1p(exp(-|x|)).
template <class A>
FASTPP_HD_INLINE A softplus_neg(A x) {
  return select(x < A(0), -x, A(0)) + log1p_acc(exp_nonpos(select(x < A(0), x, -x)));
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
