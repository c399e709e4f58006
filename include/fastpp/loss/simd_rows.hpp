#pragma once
// AVX2 versions of the float row loops, written with GCC/clang vector extensions (no intrinsics, no
// -ffast-math). Auto-vectorisation of the portable loops in row_math.hpp is fragile: GCC 12 leaves the
// max scalar and clang 14 leaves the exp scalar, each 5-20x slower than memory. These are the same
// formulas on 8 floats at a time; row_math.hpp calls them for float rows on a host compiled with AVX2
// and FMA (fastpp's default -march=x86-64-v3), and keeps its portable loops for everything else
// (double, half, bfloat16, other ISAs, and CUDA device code).
#if defined(__AVX2__) && defined(__FMA__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define FASTPP_LOSS_SIMD 1
#include <cmath>
#include <cstdint>
#include <cstring>

namespace fastpp::loss_simd {

typedef float v8f __attribute__((vector_size(32)));
typedef std::int32_t v8i __attribute__((vector_size(32)));

inline constexpr int width = 8;

// Unrolls the loops over the rows of a group, so each row's vectors stay in registers (GCC otherwise keeps
// arrays of vectors on the stack).
#if defined(__clang__)
#define FASTPP_SIMD_UNROLL _Pragma("unroll")
#else
#define FASTPP_SIMD_UNROLL _Pragma("GCC unroll 4")
#endif

__attribute__((always_inline)) inline v8f splat(float s) { return v8f{s, s, s, s, s, s, s, s}; }
__attribute__((always_inline)) inline v8i splat_i(std::int32_t s) { return v8i{s, s, s, s, s, s, s, s}; }
__attribute__((always_inline)) inline v8f loadu(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
__attribute__((always_inline)) inline void storeu(float* p, v8f v) { std::memcpy(p, &v, sizeof v); }
// m ? a : b, lane by lane (m: all ones or all zeros per lane, as comparisons give)
__attribute__((always_inline)) inline v8f select(v8i m, v8f a, v8f b) {
  return reinterpret_cast<v8f>((m & reinterpret_cast<v8i>(a)) | (~m & reinterpret_cast<v8i>(b)));
}
// vmaxps: a > b ? a : b, so a NaN in a yields b; in b it yields NaN.
__attribute__((always_inline)) inline v8f max(v8f a, v8f b) { return __builtin_ia32_maxps256(a, b); }
__attribute__((always_inline)) inline float hmax(v8f v) {
  float r = v[0];
  for (int k = 1; k < width; ++k) r = v[k] > r ? v[k] : r;
  return r;
}
__attribute__((always_inline)) inline float hsum(v8f s) {
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

// loss_math::fast_expf_nonpos on 8 lanes (same constants, same rounding steps).
__attribute__((always_inline)) inline v8f exp_nonpos(v8f x) {
  x = max(splat(-88.0f), x);  // keeps NaN; -88 gives n = -127, a scale of exactly 0
  const v8f magic = splat(12582912.0f);
  const v8f t = x * splat(1.44269504088896341f) + magic;
  const v8f n = t - magic;
  const v8i ni = reinterpret_cast<v8i>(t) - splat_i(0x4B400000);
  v8f r = x - n * splat(0.693359375f);
  r = r - n * splat(-2.12194440e-4f);
  const v8f r2 = r * r;
  v8f p = splat(1.381461276e-3f);
  p = p * r + splat(8.368710056e-3f);
  p = p * r + splat(4.166838899e-2f);
  p = p * r + splat(1.666652113e-1f);
  p = p * r + splat(4.999999404e-1f);
  const v8f er = p * r2 + r + splat(1.0f);
  return er * reinterpret_cast<v8f>((ni + splat_i(127)) << 23);
}

// Lanes [skip, 8) of a chunk: the part of the overlapping last chunk of a row not seen before.
__attribute__((always_inline)) inline v8i lanes_from(std::int64_t skip) {
  const v8i iota{0, 1, 2, 3, 4, 5, 6, 7};
  return iota >= splat_i(static_cast<std::int32_t>(skip));
}

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
typedef float v4f __attribute__((vector_size(16)));
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
  for (std::int64_t j = width; j < end; j += width)
    FASTPP_SIMD_UNROLL for (int r = 0; r < R; ++r) m[r] = max(loadu(x + r * ld + j), m[r]);
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

// lse[r] = logsumexp of row r, for `group` rows.
inline void rows_logsumexp(const float* x, std::int64_t ld, std::int64_t n, float* lse) {
  float m[group], s[group];
  rows_max<group>(x, ld, n, m);
  rows_sum_exp<group, false>(x, ld, n, m, nullptr, s);
  FASTPP_SIMD_UNROLL for (int r = 0; r < group; ++r) lse[r] = m[r] + std::log(s[r]);
}

// softmax of `group` rows into y.
inline void rows_softmax(const float* x, std::int64_t ld, std::int64_t n, float* y) {
  float m[group], s[group];
  rows_max<group>(x, ld, n, m);
  rows_sum_exp<group, true>(x, ld, n, m, y, s);
  FASTPP_SIMD_UNROLL for (int r = 0; r < group; ++r) row_affine_inplace(y + r * ld, n, 1.0f / s[r], 0.0f);
}

// loss_math::softmax_loss_row_fused for `group` rows.
inline void rows_softmax_loss_fused(const float* x, std::int64_t ld, std::int64_t n, const std::int64_t* t,
                                    const float* a, const float* b, const float* c, float* dx, float* lse) {
  float m[group], s[group];
  rows_max<group>(x, ld, n, m);
  rows_sum_exp<group, true>(x, ld, n, m, dx, s);
  FASTPP_SIMD_UNROLL for (int r = 0; r < group; ++r) {
    float* d = dx + r * ld;
    row_affine_inplace(d, n, a[r] / s[r], -c[r]);
    if (t[r] >= 0 && t[r] < n) d[t[r]] -= b[r];
    lse[r] = m[r] + std::log(s[r]);
  }
}

}  // namespace fastpp::loss_simd
#endif
