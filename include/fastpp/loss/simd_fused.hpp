#pragma once
// cross-entropy's fused pass on AVX2: a row's loss and its gradient (loss_math::softmax_loss_row_fused) in
// one read of the row. Two kernels, by row length: long rows one at a time, short rows 8 at a time in
// transposed 8x8 tiles.
#include "simd_rows.hpp"
#if defined(FASTPP_LOSS_SIMD)
#include <immintrin.h>

namespace fastpp::loss_simd {

// Both read a row from memory once (the max pass), then work on it in L1: exp is computed once, stored,
// summed, and scaled. Both prefetch the input a few KiB ahead, so the loads of later rows overlap this
// row's arithmetic.

// max of a long row with 4 accumulators.
__attribute__((always_inline)) inline float row_max_long(const float* x, std::int64_t n) {
  const std::int64_t end = n - n % width;
  v8f m0 = loadu(x), m1 = m0, m2 = m0, m3 = m0;
  std::int64_t j = 0;
  for (; j + 4 * width <= end; j += 4 * width) {
    m0 = max(loadu(x + j), m0);
    m1 = max(loadu(x + j + width), m1);
    m2 = max(loadu(x + j + 2 * width), m2);
    m3 = max(loadu(x + j + 3 * width), m3);
  }
  for (; j < end; j += width) m0 = max(loadu(x + j), m0);
  if (end < n) m0 = max(loadu(x + n - width), m0);
  return hmax(max(max(m0, m1), max(m2, m3)));
}

// sum_j exp(x_j - mx) over a long row; with Store, e_j = that exp. The prefetches of `ahead` go with this
// pass, the row's arithmetic, not with the max pass: spread over the arithmetic they overlap it (measured:
// 20-35% faster on 16384 x 1000 than prefetching in the max pass). With PrefetchStore, e is the output row
// itself and its lines the same distance ahead are prefetched, so the stores do not wait for them
// (cross-entropy forward+backward at 4096 x 1000, whose gradient is not streamed, 4-14% faster; softmax
// forward unchanged within noise).
template <bool Store, bool PrefetchStore = false>
__attribute__((always_inline)) inline float row_sum_exp_long(const float* x, std::int64_t n, float mx, float* e,
                                                             const float* ahead) {
  const v8f sh = splat(mx);
  const std::int64_t end = n - n % width;
  v8f s0 = splat(0.0f), s1 = splat(0.0f);
  std::int64_t j = 0;
  for (; j + 2 * width <= end; j += 2 * width) {
    prefetch(ahead + j);  // one 64-byte line per iteration
    if constexpr (PrefetchStore) prefetch_for_write(e + (ahead - x) + j);
    const v8f e0 = exp_nonpos(loadu(x + j) - sh), e1 = exp_nonpos(loadu(x + j + width) - sh);
    if constexpr (Store) {
      storeu(e + j, e0);
      storeu(e + j + width, e1);
    }
    s0 += e0;
    s1 += e1;
  }
  for (; j < end; j += width) {
    const v8f v = exp_nonpos(loadu(x + j) - sh);
    if constexpr (Store) storeu(e + j, v);
    s0 += v;
  }
  if (end < n) {
    const v8f v = exp_nonpos(loadu(x + n - width) - sh);
    if constexpr (Store) storeu(e + n - width, v);  // the lanes seen before get the same value again
    s1 += select(lanes_from(end - (n - width)), v, splat(0.0f));
  }
  return hsum(s0 + s1);
}

// logsumexp of a long row (log_softmax and cross-entropy's forward).
inline float row_logsumexp_long(const float* x, std::int64_t n, const float* ahead) {
  const float mx = row_max_long(x, n);
  return mx + std::log(row_sum_exp_long<false>(x, n, mx, nullptr, ahead));
}

// softmax backward of a long row, dx = y (dy - sum_j dy_j y_j), prefetching y and dy `ahead` values on:
// y's lines in the dot pass, dy's in the pass that writes dx, so that loads of later rows overlap both
// (measured: softmax forward+backward 3-12% faster at 4096 and 16384 x 1000 than with all of them in the
// dot pass, which left the writing pass without any).
inline void row_softmax_backward_long(const float* y, const float* dy, std::int64_t n, float* dx, std::int64_t ahead) {
  const std::int64_t end = n - n % width;
  v8f a0 = splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
  std::int64_t j = 0;
  for (; j + 4 * width <= end; j += 4 * width) {
    prefetch(y + ahead + j);
    prefetch(y + ahead + j + 2 * width);
    a0 = fma(loadu(y + j), loadu(dy + j), a0);
    a1 = fma(loadu(y + j + width), loadu(dy + j + width), a1);
    a2 = fma(loadu(y + j + 2 * width), loadu(dy + j + 2 * width), a2);
    a3 = fma(loadu(y + j + 3 * width), loadu(dy + j + 3 * width), a3);
  }
  for (; j < end; j += width) a0 = fma(loadu(y + j), loadu(dy + j), a0);
  if (end < n) a1 += select(lanes_from(end - (n - width)), loadu(y + n - width) * loadu(dy + n - width), splat(0.0f));
  const v8f d = splat(hsum((a0 + a1) + (a2 + a3)));
  const auto value = [=](std::int64_t k) { return loadu(y + k) * (loadu(dy + k) - d); };
  for (j = 0; j + 2 * width <= end; j += 2 * width) {
    prefetch(dy + ahead + j);
    storeu(dx + j, value(j));
    storeu(dx + j + width, value(j + width));
  }
  for (; j < end; j += width) storeu(dx + j, value(j));
  if (end < n) storeu(dx + n - width, value(n - width));
}

// log_softmax backward of a long row, dx = dy - exp(y) sum_j dy_j, prefetching y and dy `ahead` values on.
inline void row_log_softmax_backward_long(const float* y, const float* dy, std::int64_t n, float* dx,
                                          std::int64_t ahead) {
  const std::int64_t end = n - n % width;
  v8f a0 = splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
  std::int64_t j = 0;
  for (; j + 4 * width <= end; j += 4 * width) {
    a0 += loadu(dy + j);
    a1 += loadu(dy + j + width);
    a2 += loadu(dy + j + 2 * width);
    a3 += loadu(dy + j + 3 * width);
  }
  for (; j < end; j += width) a0 += loadu(dy + j);
  if (end < n) a1 += select(lanes_from(end - (n - width)), loadu(dy + n - width), splat(0.0f));
  // dx = dy - exp(y) s: the exp pass carries the prefetches, one line of y and one of dy per 2 vectors
  const v8f sdy = splat(hsum((a0 + a1) + (a2 + a3)));
  const auto value = [=](std::int64_t k) { return loadu(dy + k) - exp_nonpos(loadu(y + k)) * sdy; };
  for (j = 0; j + 2 * width <= end; j += 2 * width) {
    prefetch(y + ahead + j);
    prefetch(dy + ahead + j);
    storeu(dx + j, value(j));
    storeu(dx + j + width, value(j + width));
  }
  for (; j < end; j += width) storeu(dx + j, value(j));
  if (end < n) storeu(dx + n - width, value(n - width));
}

// Rows longer than tile_max_classes: one row at a time, several accumulators per pass. Returns the row's
// logsumexp (0 with WithLse false, for plain softmax). `ahead` points a fixed distance ahead of x in the
// input (prefetched, never dereferenced). exp is stored in `e` (n values, L1), then the gradient
// a e / s - c - b [j == t] is written to `out`: in place when out == e, or, with Stream, to a 32-byte
// aligned out with non-temporal stores (n a multiple of 8), so the output is never read from memory.
// The target's term is folded into its exp first, e_t - b s / a, so both ways give the same bits.
template <bool WithLse = true, bool Stream = false>
inline float row_softmax_loss_fused_long(const float* x, std::int64_t n, std::int64_t t, float a, float b, float c,
                                         float* e, float* out, const float* ahead) {
  const float mx = row_max_long(x, n);
  const float sum = row_sum_exp_long<true, !Stream>(x, n, mx, e, ahead);
  const float scale = a / sum;
  // b != 0 with a == 0 does not happen for the losses built on this pass; it would be set after the stores
  const bool has_target = t >= 0 && t < n && b != 0.0f, late = has_target && a == 0.0f;
  if (has_target && !late) e[t] -= b * sum / a;
  if constexpr (Stream) {
    const v8f sc = splat(scale), off = splat(-c);
    for (std::int64_t j = 0; j < n; j += width) _mm256_stream_ps(out + j, fma(loadu(e + j), sc, off));
  } else {
    row_affine_inplace(e, n, scale, -c);
  }
  if (late) out[t] = -b - c;
  if constexpr (WithLse) return mx + std::log(sum);
  return 0.0f;
}

// Rows up to this long can use the streaming form of row_softmax_loss_fused_long (its exp buffer is on
// the stack).
inline constexpr std::int64_t stream_row_max = 4096;

// Short rows (8 <= n <= tile_max_classes) go 8 at a time, transposed: 8x8 tiles of the 8 rows are
// transposed so that vector j holds value j of every row. Then the row maxima, sums, logs and scales are
// plain lane-wise vector operations (no horizontal reductions, no per-row loop overhead, one vector log for
// 8 rows), exp runs on n whole vectors, and the tiles are transposed back on the way out. A row's last
// tile starts at n - 8 and overlaps the one before when 8 does not divide n: the overlapped columns are
// loaded and stored twice with the same values.
inline constexpr std::int64_t tile_max_classes = 64;
inline constexpr int tile_rows = 8;

// Transposes the 8x8 tile r[0..8) in place (24 shuffles: unpack, shuffle, 128-bit permute).
__attribute__((always_inline)) inline void transpose8(v8f* r) {
  const v8f t0 = __builtin_shufflevector(r[0], r[1], 0, 8, 1, 9, 4, 12, 5, 13);
  const v8f t1 = __builtin_shufflevector(r[0], r[1], 2, 10, 3, 11, 6, 14, 7, 15);
  const v8f t2 = __builtin_shufflevector(r[2], r[3], 0, 8, 1, 9, 4, 12, 5, 13);
  const v8f t3 = __builtin_shufflevector(r[2], r[3], 2, 10, 3, 11, 6, 14, 7, 15);
  const v8f t4 = __builtin_shufflevector(r[4], r[5], 0, 8, 1, 9, 4, 12, 5, 13);
  const v8f t5 = __builtin_shufflevector(r[4], r[5], 2, 10, 3, 11, 6, 14, 7, 15);
  const v8f t6 = __builtin_shufflevector(r[6], r[7], 0, 8, 1, 9, 4, 12, 5, 13);
  const v8f t7 = __builtin_shufflevector(r[6], r[7], 2, 10, 3, 11, 6, 14, 7, 15);
  const v8f s0 = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13);
  const v8f s1 = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
  const v8f s2 = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13);
  const v8f s3 = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
  const v8f s4 = __builtin_shufflevector(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13);
  const v8f s5 = __builtin_shufflevector(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);
  const v8f s6 = __builtin_shufflevector(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13);
  const v8f s7 = __builtin_shufflevector(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);
  r[0] = __builtin_shufflevector(s0, s4, 0, 1, 2, 3, 8, 9, 10, 11);
  r[1] = __builtin_shufflevector(s1, s5, 0, 1, 2, 3, 8, 9, 10, 11);
  r[2] = __builtin_shufflevector(s2, s6, 0, 1, 2, 3, 8, 9, 10, 11);
  r[3] = __builtin_shufflevector(s3, s7, 0, 1, 2, 3, 8, 9, 10, 11);
  r[4] = __builtin_shufflevector(s0, s4, 4, 5, 6, 7, 12, 13, 14, 15);
  r[5] = __builtin_shufflevector(s1, s5, 4, 5, 6, 7, 12, 13, 14, 15);
  r[6] = __builtin_shufflevector(s2, s6, 4, 5, 6, 7, 12, 13, 14, 15);
  r[7] = __builtin_shufflevector(s3, s7, 4, 5, 6, 7, 12, 13, 14, 15);
}

// Start column of the tiles of a row of n >= 8 values: 0, 8, 16, ..., and n - 8 last.
__attribute__((always_inline)) inline std::int64_t tile_start(std::int64_t jb, std::int64_t n) {
  return jb + width <= n ? jb : n - width;
}

// The fused pass for 8 short rows (n values each, leading dimension n): t, a, b, c, lse hold one value per
// row; out gets the 8 gradient rows. `ahead` is prefetched.
inline void rows_softmax_loss_fused_tiles(const float* x, std::int64_t n, const std::int64_t* t, const float* a,
                                         const float* b, const float* c, float* out, float* lse, const float* ahead) {
  v8f col[tile_max_classes];  // col[j][r] = x[r][j], then exp, for the 8 rows
  v8f mx = splat(-__builtin_inff());
  for (std::int64_t jb = 0; jb < n; jb += width) {
    const std::int64_t j0 = tile_start(jb, n);
    // 8 rows of n values are n vectors, 8 per tile: the tile's share of the block ahead is 4 lines
    FASTPP_SIMD_UNROLL for (int l = 0; l < 4; ++l) prefetch(ahead + width * j0 + 16 * l);
    v8f r[tile_rows];
    FASTPP_SIMD_UNROLL for (int q = 0; q < tile_rows; ++q) r[q] = loadu(x + q * n + j0);
    transpose8(r);
    FASTPP_SIMD_UNROLL for (int q = 0; q < tile_rows; ++q) {
      col[j0 + q] = r[q];
      mx = max(r[q], mx);
    }
  }
  v8f s0 = splat(0.0f), s1 = splat(0.0f);
  std::int64_t j = 0;
  for (; j + 2 <= n; j += 2) {
    col[j] = exp_nonpos(col[j] - mx);
    col[j + 1] = exp_nonpos(col[j + 1] - mx);
    s0 += col[j];
    s1 += col[j + 1];
  }
  if (j < n) {
    col[j] = exp_nonpos(col[j] - mx);
    s0 += col[j];
  }
  const v8f sums = s0 + s1;
  storeu(lse, mx + log8(sums));
  const v8f scale = loadu(a) / sums, offset = -loadu(c);
  for (std::int64_t jb = 0; jb < n; jb += width) {
    const std::int64_t j0 = tile_start(jb, n);
    v8f r[tile_rows];
    FASTPP_SIMD_UNROLL for (int q = 0; q < tile_rows; ++q) r[q] = fma(col[j0 + q], scale, offset);
    transpose8(r);
    FASTPP_SIMD_UNROLL for (int q = 0; q < tile_rows; ++q) storeu(out + q * n + j0, r[q]);
  }
  FASTPP_SIMD_UNROLL for (int r = 0; r < tile_rows; ++r)
    if (t[r] >= 0 && t[r] < n) out[r * n + t[r]] -= b[r];
}

}  // namespace fastpp::loss_simd
#endif
