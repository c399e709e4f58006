#pragma once
// AVX2 versions of the float row loops of row_math.hpp (softmax, log_softmax and their backwards, the
// reductions), on one row or on groups of 4 rows: a short row (37 classes) is a chain of dependent steps
// (max, then exp and sum, then log), and 4 rows side by side give the core 4 independent chains.
#include "simd_vec.hpp"
#if defined(FASTPP_LOSS_SIMD)

namespace fastpp::loss_simd {

// The row is [0, n) with n >= 8: full chunks, then one overlapping chunk at n - 8 if n % 8 != 0.
template <class F>
__attribute__((always_inline)) inline float reduce_sum(std::int64_t n, F f) {
  v8f s = splat(0.0f);
  const std::int64_t end = n - n % width;
  for (std::int64_t j = 0; j < end; j += width) s += f(j);
  if (end < n) s += select(lanes_from(end - (n - width)), f(n - width), splat(0.0f));
  return hsum(s);
}
template <class F>
__attribute__((always_inline)) inline void map(std::int64_t n, float* out, F f) {
  const std::int64_t end = n - n % width;
  for (std::int64_t j = 0; j < end; j += width) storeu(out + j, f(j));
  if (end < n) storeu(out + n - width, f(n - width));
}

// y = y * scale + offset in place. The overlapping last chunk is loaded before any store, so its lanes that
// the full chunks also cover get the same value twice, never the transform applied twice.
inline void row_affine_inplace(float* y, std::int64_t n, float scale, float offset) {
  const v8f sc = splat(scale), off = splat(offset);
  const std::int64_t end = n - n % width;
  const v8f tail = loadu(y + n - width);
  for (std::int64_t j = 0; j < end; j += width) storeu(y + j, loadu(y + j) * sc + off);
  if (end < n) storeu(y + n - width, tail * sc + off);
}
inline void row_shift(const float* x, std::int64_t n, float shift, float* y) {
  const v8f sh = splat(shift);
  map(n, y, [=](std::int64_t j) { return loadu(x + j) - sh; });
}

inline float row_max(const float* x, std::int64_t n) {
  v8f m = loadu(x);
  const std::int64_t end = n - n % width;
  for (std::int64_t j = width; j < end; j += width) m = max(loadu(x + j), m);
  if (end < n) m = max(loadu(x + n - width), m);
  return hmax(m);
}
inline float row_sum(const float* x, std::int64_t n) {
  return reduce_sum(n, [x](std::int64_t j) { return loadu(x + j); });
}
inline float row_dot(const float* a, const float* b, std::int64_t n) {
  return reduce_sum(n, [a, b](std::int64_t j) { return loadu(a + j) * loadu(b + j); });
}
inline float row_sum_exp(const float* x, std::int64_t n, float shift) {
  const v8f sh = splat(shift);
  return reduce_sum(n, [x, sh](std::int64_t j) { return exp_nonpos(loadu(x + j) - sh); });
}
inline float row_exp_store(const float* x, std::int64_t n, float shift, float* out) {
  const v8f sh = splat(shift);
  return reduce_sum(n, [x, sh, out](std::int64_t j) {
    const v8f e = exp_nonpos(loadu(x + j) - sh);
    storeu(out + j, e);
    return e;
  });
}
inline void row_scaled_exp(const float* x, std::int64_t n, float shift, float scale, float offset, float* out) {
  const v8f sh = splat(shift), sc = splat(scale), off = splat(offset);
  map(n, out, [=](std::int64_t j) { return sc * exp_nonpos(loadu(x + j) - sh) - off; });
}
inline void log_softmax_backward(const float* y, const float* dy, std::int64_t n, float sdy, float* dx) {
  const v8f s = splat(sdy);
  map(n, dx, [=](std::int64_t j) { return loadu(dy + j) - exp_nonpos(loadu(y + j)) * s; });
}

// Horizontal sums and maxima of 4 vectors at once (one per row): the halves are added, then a 4x4
// transpose. The sums are added in hsum's order, so a row's sum has the same bits either way.
__attribute__((always_inline)) inline v4f halves_sum(v8f a) {
  return __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
}
__attribute__((always_inline)) inline v4f halves_max(v8f a) {
  return __builtin_ia32_maxps(__builtin_shufflevector(a, a, 0, 1, 2, 3), __builtin_shufflevector(a, a, 4, 5, 6, 7));
}
__attribute__((always_inline)) inline void hsum4(const v8f* s, float* out) {
  const v4f a = halves_sum(s[0]), b = halves_sum(s[1]), c = halves_sum(s[2]), d = halves_sum(s[3]);
  // hadd(a, b) = (a0+a1, a2+a3, b0+b1, b2+b3): twice gives ((a0+a1)+(a2+a3), ...), hsum's order
  const v4f r = __builtin_ia32_haddps(__builtin_ia32_haddps(a, b), __builtin_ia32_haddps(c, d));
  std::memcpy(out, &r, sizeof r);
}
__attribute__((always_inline)) inline void hmax4(const v8f* m, float* out) {
  const v4f a = halves_max(m[0]), b = halves_max(m[1]), c = halves_max(m[2]), d = halves_max(m[3]);
  const v4f ab_lo = __builtin_shufflevector(a, b, 0, 4, 1, 5), ab_hi = __builtin_shufflevector(a, b, 2, 6, 3, 7);
  const v4f cd_lo = __builtin_shufflevector(c, d, 0, 4, 1, 5), cd_hi = __builtin_shufflevector(c, d, 2, 6, 3, 7);
  const v4f c0 = __builtin_shufflevector(ab_lo, cd_lo, 0, 1, 4, 5), c1 = __builtin_shufflevector(ab_lo, cd_lo, 2, 3, 6, 7);
  const v4f c2 = __builtin_shufflevector(ab_hi, cd_hi, 0, 1, 4, 5), c3 = __builtin_shufflevector(ab_hi, cd_hi, 2, 3, 6, 7);
  const v4f r = __builtin_ia32_maxps(__builtin_ia32_maxps(c0, c1), __builtin_ia32_maxps(c2, c3));
  std::memcpy(out, &r, sizeof r);
}

// ---- groups of rows ----------------------------------------------------------------------------------
// A short row (37 classes) is a chain of dependent steps: max, then exp and sum, then log. One row at a
// time leaves the core waiting on that chain; R rows side by side give it R independent chains.

template <int R>
__attribute__((always_inline)) inline void rows_max(const float* x, std::int64_t ld, std::int64_t n, float* out) {
  v8f m[R];
  FASTPP_SIMD_UNROLL for (int r = 0; r < R; ++r) m[r] = loadu(x + r * ld);
  const std::int64_t end = n - n % width;
  // This pass is the first to touch the rows: it prefetches the next group's (R rows further on).
  for (std::int64_t j = width; j < end; j += width)
    FASTPP_SIMD_UNROLL for (int r = 0; r < R; ++r) {
      prefetch(x + (R + r) * ld + j);
      m[r] = max(loadu(x + r * ld + j), m[r]);
    }
  if (end < n)
    FASTPP_SIMD_UNROLL for (int r = 0; r < R; ++r) m[r] = max(loadu(x + r * ld + n - width), m[r]);
  if constexpr (R == 4) hmax4(m, out);
  else
    FASTPP_SIMD_UNROLL for (int r = 0; r < R; ++r) out[r] = hmax(m[r]);
}

// sums[r] = sum_j exp(x[r][j] - shift[r]); with Store, out[r][j] = that exp (out has leading dimension ld).
template <int R, bool Store>
__attribute__((always_inline)) inline void rows_sum_exp(const float* x, std::int64_t ld, std::int64_t n,
                                                        const float* shift, float* out, float* sums) {
  v8f sh[R], s[R];
  FASTPP_SIMD_UNROLL for (int r = 0; r < R; ++r) {
    sh[r] = splat(shift[r]);
    s[r] = splat(0.0f);
  }
  const std::int64_t end = n - n % width;
  for (std::int64_t j = 0; j < end; j += width)
    FASTPP_SIMD_UNROLL for (int r = 0; r < R; ++r) {
      const v8f e = exp_nonpos(loadu(x + r * ld + j) - sh[r]);
      if constexpr (Store) storeu(out + r * ld + j, e);
      s[r] += e;
    }
  if (end < n) {
    const v8i fresh = lanes_from(end - (n - width));
    FASTPP_SIMD_UNROLL for (int r = 0; r < R; ++r) {
      const v8f e = exp_nonpos(loadu(x + r * ld + n - width) - sh[r]);
      if constexpr (Store) storeu(out + r * ld + n - width, e);
      s[r] += select(fresh, e, splat(0.0f));
    }
  }
  if constexpr (R == 4) hsum4(s, sums);
  else
    FASTPP_SIMD_UNROLL for (int r = 0; r < R; ++r) sums[r] = hsum(s[r]);
}

inline constexpr int group = 4;  // rows per group

__attribute__((always_inline)) inline v4f load4(const float* p) {
  v4f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
__attribute__((always_inline)) inline void store4(float* p, v4f v) { std::memcpy(p, &v, sizeof v); }

// lse[r] = logsumexp of row r, for `group` rows.
inline void rows_logsumexp(const float* x, std::int64_t ld, std::int64_t n, float* lse) {
  float m[group], s[group];
  rows_max<group>(x, ld, n, m);
  rows_sum_exp<group, false>(x, ld, n, m, nullptr, s);
  store4(lse, load4(m) + log4(load4(s)));
}

// softmax of `group` rows into y.
inline void rows_softmax(const float* x, std::int64_t ld, std::int64_t n, float* y) {
  float m[group], s[group], inv[group];
  rows_max<group>(x, ld, n, m);
  rows_sum_exp<group, true>(x, ld, n, m, y, s);
  store4(inv, v4f{1.0f, 1.0f, 1.0f, 1.0f} / load4(s));
  FASTPP_SIMD_UNROLL for (int r = 0; r < group; ++r) row_affine_inplace(y + r * ld, n, inv[r], 0.0f);
}

// out[r] = sum_j term(r, j) for the `group` rows of the backward passes (term gives the 8 values of row r
// at column j), prefetching the next group's rows of y and dy as it goes.
template <class Term>
__attribute__((always_inline)) inline void rows_backward_sums(const float* y, const float* dy, std::int64_t ld,
                                                              std::int64_t n, Term term, float* out) {
  v8f acc[group];
  FASTPP_SIMD_UNROLL for (int r = 0; r < group; ++r) acc[r] = splat(0.0f);
  const std::int64_t end = n - n % width;
  for (std::int64_t j = 0; j < end; j += width)
    FASTPP_SIMD_UNROLL for (int r = 0; r < group; ++r) {
      prefetch(y + (group + r) * ld + j);
      prefetch(dy + (group + r) * ld + j);
      acc[r] += term(r, j);
    }
  if (end < n) {
    const v8i fresh = lanes_from(end - (n - width));
    FASTPP_SIMD_UNROLL for (int r = 0; r < group; ++r) acc[r] += select(fresh, term(r, n - width), splat(0.0f));
  }
  hsum4(acc, out);
}

// softmax backward, dx = y (dy - sum_j dy_j y_j), for `group` rows.
inline void rows_softmax_backward(const float* y, const float* dy, std::int64_t ld, std::int64_t n, float* dx) {
  float dot[group];
  rows_backward_sums(
      y, dy, ld, n, [=](int r, std::int64_t j) { return loadu(y + r * ld + j) * loadu(dy + r * ld + j); }, dot);
  FASTPP_SIMD_UNROLL for (int r = 0; r < group; ++r) {
    const v8f d = splat(dot[r]);
    const float *yr = y + r * ld, *dyr = dy + r * ld;
    map(n, dx + r * ld, [=](std::int64_t j) { return loadu(yr + j) * (loadu(dyr + j) - d); });
  }
}

// log_softmax backward, dx = dy - exp(y) sum_j dy_j, for `group` rows.
inline void rows_log_softmax_backward(const float* y, const float* dy, std::int64_t ld, std::int64_t n, float* dx) {
  float sdy[group];
  rows_backward_sums(y, dy, ld, n, [=](int r, std::int64_t j) { return loadu(dy + r * ld + j); }, sdy);
  FASTPP_SIMD_UNROLL for (int r = 0; r < group; ++r) log_softmax_backward(y + r * ld, dy + r * ld, n, sdy[r], dx + r * ld);
}

}  // namespace fastpp::loss_simd
#endif
