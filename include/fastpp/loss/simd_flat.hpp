#pragma once
// The fused cross-entropy pass, and the logsumexp of the forward passes, for 8 short rows (8 to 64
// classes) read as one flat array: 8 rows of n values are n whole vectors, and exp runs over them as they
// lie in memory, with no transposes.
//
// Why: at 37 classes the transposed tiles of simd_fused.hpp spend a third of their instructions moving
// values between lanes and through memory (240 shuffles and 117 stores per 8 rows); here the shift is the
// same for every row of the group, near the group's largest logit M, so the maximum is one flat pass and
// exp needs no per-lane shift. Only the sums and the scaling see row boundaries: the sums as 8 short masked
// loops and one reduction tree, the scaling as one flat loop whose vectors pick each lane's row factor
// with a permute. Measured on the project's 2-vCPU EPYC at 262144 x 37, with
// the leaner driver of softmax_loss.hpp: 1.35-1.45x the tiles' speed with 1 thread and 2.
//
// Numerics: the shift is K ln2 for the integer K nearest M / ln2 (so within 0.35 of M), applied by
// exp_scaled as 2^-K on the exponent, which leaves x - shift unrounded; instead of exp(x - max_i) this
// changes only which tiny values flush to zero. Results below 2^-126 (x - K ln2 < -87.3) flush; the pass
// requires every row's sum of exp(x - K ln2) to be at least e^-20, so each row's own maximum is within
// 20 + ln(n) of the shift, and what flushes is below e^-63 of the largest term of its row (the per-row
// shift flushes below e^-87). A group failing that, holding an inf or a NaN, or whose largest logit lies
// beyond +-flat_max_logit (where exp_scaled's reduction of x would lose bits) is left to the tiles (the
// function returns false having written nothing).
#include "simd_fused.hpp"

#if defined(FASTPP_LOSS_SIMD)
namespace fastpp::loss_simd {

// The smallest row sum of exp(x - K ln2) the flat pass accepts: e^-20.
inline constexpr float flat_min_row_sum = 2.0611536e-9f;
// The largest |M| the flat pass takes: its x then lie within exp_scaled_max_x (x >= K ln2 - 88).
inline constexpr float flat_max_logit = exp_scaled_max_x - 96.0f;

// Lane r of the result is the sum of the 8 lanes of v[r] (3 levels of shuffles, 14 in all, and 7 adds).
__attribute__((always_inline)) inline v8f lane_sums8(const v8f* v) {
  v8f t[4], u[2];
  // t[q] = [a0 b0 a1 b1 | a2 b2 a3 b3], partial sums of a = v[2q] and b = v[2q + 1]
  FASTPP_SIMD_UNROLL for (int q = 0; q < 4; ++q)
    t[q] = __builtin_shufflevector(v[2 * q], v[2 * q + 1], 0, 8, 1, 9, 4, 12, 5, 13) +
           __builtin_shufflevector(v[2 * q], v[2 * q + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  // u[q] = [v4q v4q+1 v4q+2 v4q+3 | the same from the high halves]
  FASTPP_SIMD_UNROLL for (int q = 0; q < 2; ++q)
    u[q] = __builtin_shufflevector(t[2 * q], t[2 * q + 1], 0, 1, 8, 9, 4, 5, 12, 13) +
           __builtin_shufflevector(t[2 * q], t[2 * q + 1], 2, 3, 10, 11, 6, 7, 14, 15);
  return __builtin_shufflevector(u[0], u[1], 0, 1, 2, 3, 8, 9, 10, 11) +
         __builtin_shufflevector(u[0], u[1], 4, 5, 6, 7, 12, 13, 14, 15);
}

// Lane r: the sum of row r of the 8 rows of n >= 8 values at e (leading dimension n). A ragged end is read
// as the overlapping last chunk, its already-counted lanes zeroed.
__attribute__((always_inline)) inline v8f rows8_sums(const float* e, std::int64_t n) {
  const std::int64_t full = n & ~std::int64_t{width - 1};
  const v8i fresh = lanes_from(width - (n - full));
  v8f acc[tile_rows];
  FASTPP_SIMD_UNROLL for (int r = 0; r < tile_rows; ++r) {
    const float* er = e + r * n;
    v8f s0 = loadu(er), s1 = splat(0.0f);
    std::int64_t j = width;
    for (; j + width < full; j += 2 * width) {
      s0 += loadu(er + j);
      s1 += loadu(er + j + width);
    }
    if (j < full) s0 += loadu(er + j);
    if (full < n) s1 += select(fresh, loadu(er + n - width), splat(0.0f));
    acc[r] = s0 + s1;
  }
  return lane_sums8(acc);
}

// Lane j of vector k of 8 flat rows of n values belongs to row (8k + j) / n. The vectors for one n,
// built on first use in each thread (a pass's rows all have the same n) so the scaling below needs no
// division and no per-row loop.
struct FlatLaneRows {
  std::int64_t n = 0;
  v8i of[tile_max_classes];
};
inline const v8i* flat_lane_rows(std::int64_t n) {
  thread_local FlatLaneRows cache;  // constant-initialised: no guard on the hot path
  if (cache.n != n) {
    std::int32_t row = 0;
    std::int64_t left = n;  // values of `row` not yet placed
    for (std::int64_t k = 0; k < n; ++k)
      for (int j = 0; j < width; ++j) {
        cache.of[k][j] = row;
        if (--left == 0) ++row, left = n;
      }
    cache.n = n;
  }
  return cache.of;
}

// out[k] = e[k] * scale + offset over the n flat vectors of 8 rows, with scale and offset per row:
// each vector's lanes pick their row's values with one permute. WithOffset false skips the offset (0 for
// cross-entropy without label smoothing). It replaced a loop per row with a blend where rows meet, which
// at 37 classes spent about 20 instructions a row on loop control: 10 fewer a row (callgrind) and 3-7%
// faster on 262144 x 37.
template <bool WithOffset>
__attribute__((always_inline)) inline void scale_rows8(const float* e, std::int64_t n, const float* scale,
                                                       const float* offset, float* out) {
  const v8i* lane_rows = flat_lane_rows(n);
  const v8f s = loadu(scale), o = WithOffset ? loadu(offset) : splat(0.0f);
  const auto one = [&](std::int64_t k) {
    const v8f sk = __builtin_ia32_permvarsf256(s, lane_rows[k]);
    if constexpr (WithOffset)
      storeu(out + width * k, fma(loadu(e + width * k), sk, __builtin_ia32_permvarsf256(o, lane_rows[k])));
    else
      storeu(out + width * k, loadu(e + width * k) * sk);
  };
  std::int64_t k = 0;
  for (; k + 4 <= n; k += 4) {
    one(k);
    one(k + 1);
    one(k + 2);
    one(k + 3);
  }
  for (; k < n; ++k) one(k);
}

// e[k] = exp_scaled(x[k]) over the n flat vectors of 8 rows, two exps at a time (four spilled registers and
// measured 3% slower), each pair with a prefetch of a line of the rows ahead and, with PrefetchOut, of the
// output's line twice as far (the prototype's choice, not tuned) so that its store does not wait for it.
template <bool PrefetchOut>
__attribute__((always_inline)) inline void flat_exps8(const float* x, std::int64_t n, const ExpShift& shift, float* e,
                                                      const float* ahead, const float* out_ahead) {
  std::int64_t k = 0;
  for (; k + 2 <= n; k += 2) {
    prefetch(ahead + width * k);
    if constexpr (PrefetchOut) prefetch_for_write(out_ahead + width * k);
    storeu(e + width * k, exp_scaled(loadu(x + width * k), shift));
    storeu(e + width * (k + 1), exp_scaled(loadu(x + width * (k + 1)), shift));
  }
  if (k < n) storeu(e + width * k, exp_scaled(loadu(x + width * k), shift));
}

// The shift of a flat group: K ln2 near its largest logit m (see the top). False when the group is not the
// flat passes' to take (|m| beyond flat_max_logit, inf or NaN).
__attribute__((always_inline)) inline bool flat_shift(const float* x, std::int64_t n, ExpShift& shift) {
  const float m = row_max_long(x, width * n);  // the 8 rows are 8 n values in a row
  if (!(std::fabs(m) <= flat_max_logit)) return false;  // also inf and NaN
  shift = exp_shift_near(m);
  return true;
}

// lse = K ln2 + log(sum) lane by lane: K ln2_hi is exact (|K| < 2^11), so one rounding joins the two parts.
__attribute__((always_inline)) inline v8f flat_lse(const ExpShift& shift, v8f sums) {
  return shift.k * splat(loss_math::ln2_hi) + fma(shift.k, splat(loss_math::ln2_lo), log8(sums));
}

// The logsumexp of 8 rows of n values (8 <= n <= tile_max_classes) read as one flat array, the forward
// pass of cross-entropy and log_softmax. Returns false, having written nothing, for the groups the fused
// pass below declines too.
inline bool rows_logsumexp_flat(const float* x, std::int64_t n, float* lse, const float* ahead) {
  ExpShift shift;
  if (!flat_shift(x, n, shift)) return false;
  alignas(32) float e[tile_max_classes * tile_rows];
  flat_exps8<false>(x, n, shift, e, ahead, nullptr);
  const v8f sums = rows8_sums(e, n);
  if (__builtin_ia32_movmskps256(reinterpret_cast<v8f>(sums >= splat(flat_min_row_sum))) != 0xff) return false;
  storeu(lse, flat_lse(shift, sums));
  return true;
}

// The fused pass for 8 rows of n values (8 <= n <= tile_max_classes), with rows_softmax_loss_fused_tiles'
// arguments and results. Returns false, having written nothing, for the groups described at the top.
// Always inlined into rows_softmax_loss_fused: as a call of its own it measured 10% slower at 37 classes.
__attribute__((always_inline)) inline bool rows_softmax_loss_fused_flat(const float* x, std::int64_t n,
                                                                        const std::int64_t* t, const float* a,
                                                                        const float* b, const float* c, float* out,
                                                                        float* lse, const float* ahead) {
  // b != 0 with a == 0 does not happen for the losses built on this pass; the tiles handle it
  const v8f av = loadu(a), bv = loadu(b);
  if (__builtin_ia32_movmskps256(reinterpret_cast<v8f>((av == splat(0.0f)) & (bv != splat(0.0f)))) != 0) return false;
  ExpShift shift;
  if (!flat_shift(x, n, shift)) return false;
  alignas(32) float e[tile_max_classes * tile_rows];
  flat_exps8<true>(x, n, shift, e, ahead, out + 2 * (ahead - x));

  const v8f sums = rows8_sums(e, n);  // a NaN fails the test below too
  if (__builtin_ia32_movmskps256(reinterpret_cast<v8f>(sums >= splat(flat_min_row_sum))) != 0xff) return false;
  storeu(lse, flat_lse(shift, sums));
  alignas(32) float scale[tile_rows], offset[tile_rows], target_term[tile_rows];
  storeu(scale, av / sums);
  storeu(offset, -loadu(c));
  // The target's term, b [j == t], folded into its exp first: (e_t - b s / a) a / s = a e_t / s - b
  // (0 where b is 0, a may be 0 there too).
  storeu(target_term, select(bv != splat(0.0f), bv * sums / av, splat(0.0f)));
  FASTPP_SIMD_UNROLL for (int r = 0; r < tile_rows; ++r)
    if (static_cast<std::uint64_t>(t[r]) < static_cast<std::uint64_t>(n)) e[r * n + t[r]] -= target_term[r];
  if (__builtin_ia32_movmskps256(reinterpret_cast<v8f>(loadu(offset) != splat(0.0f))) == 0)
    scale_rows8<false>(e, n, scale, offset, out);
  else
    scale_rows8<true>(e, n, scale, offset, out);
  return true;
}

}  // namespace fastpp::loss_simd
#endif
