#pragma once
// cross-entropy's fused pass on AVX2: a row's loss and its gradient (loss_math::softmax_loss_row_fused) in
// one read of the row. Two kernels, by row length: long rows one at a time, short rows 8 at a time in
// transposed 8x8 tiles.
#include "simd_rows.hpp"
#if defined(FASTPP_LOSS_SIMD)

namespace fastpp::loss_simd {

// Both read a row from memory once (the max pass), then work on it in L1: exp is computed once, stored,
// summed, and scaled. Both prefetch the input a few KiB ahead, so the loads of later rows overlap this
// row's arithmetic.

// Rows longer than tile_max_classes: one row at a time, several accumulators per pass. Returns the row's
// logsumexp. `ahead` points a fixed distance ahead of x in the input (prefetched, never dereferenced).
inline float row_softmax_loss_fused_long(const float* x, std::int64_t n, std::int64_t t, float a, float b, float c,
                                         float* out, const float* ahead) {
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
  const float mx = hmax(max(max(m0, m1), max(m2, m3)));

  const v8f sh = splat(mx);
  v8f s0 = splat(0.0f), s1 = splat(0.0f);
  j = 0;
  for (; j + 2 * width <= end; j += 2 * width) {
    prefetch(ahead + j);  // one 64-byte line per iteration
    const v8f e0 = exp_nonpos(loadu(x + j) - sh), e1 = exp_nonpos(loadu(x + j + width) - sh);
    storeu(out + j, e0);
    storeu(out + j + width, e1);
    s0 += e0;
    s1 += e1;
  }
  for (; j < end; j += width) {
    const v8f e = exp_nonpos(loadu(x + j) - sh);
    storeu(out + j, e);
    s0 += e;
  }
  if (end < n) {
    const v8f e = exp_nonpos(loadu(x + n - width) - sh);
    storeu(out + n - width, e);  // the lanes seen before get the same value again
    s1 += select(lanes_from(end - (n - width)), e, splat(0.0f));
  }
  const float sum = hsum(s0 + s1);
  row_affine_inplace(out, n, a / sum, -c);
  if (t >= 0 && t < n) out[t] -= b;
  return mx + std::log(sum);
}

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
    prefetch(ahead + width * j0);  // the block 8 rows ahead moves 8 n floats per n columns: 2 lines a tile
    prefetch(ahead + width * j0 + 16);
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
