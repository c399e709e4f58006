#pragma once
// The vocabulary of the loss kernels' AVX2 code: 8-float vectors written with GCC/clang vector extensions
// (a few builtins, no -ffast-math), their loads, stores and reductions, and exp and log on whole vectors.
// Auto-vectorisation of the portable loops in row_math.hpp is fragile: GCC 12 leaves the max scalar and
// clang 14 leaves the exp scalar, each 5-20x slower than memory. simd_rows.hpp and simd_fused.hpp build
// the row kernels from these; row_math.hpp calls them for float rows on a host compiled with AVX2 and FMA
// (fastpp's default -march=x86-64-v3), and keeps its portable loops for everything else (double, half,
// bfloat16, other ISAs, and CUDA device code).
#if defined(__AVX2__) && defined(__FMA__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define FASTPP_LOSS_SIMD 1
#include <cmath>
#include <cstdint>
#include <cstring>

#include "fast_exp.hpp"

namespace fastpp::loss_simd {

typedef float v8f __attribute__((vector_size(32)));
typedef std::int32_t v8i __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

inline constexpr int width = 8;

// Unrolls the loops over the rows of a group, so each row's vectors stay in registers (GCC otherwise keeps
// arrays of vectors on the stack).
#if defined(__clang__)
#define FASTPP_SIMD_UNROLL _Pragma("unroll")
#else
#define FASTPP_SIMD_UNROLL _Pragma("GCC unroll 8")
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

// a * b + c with one rounding, whatever -ffp-contract says (the exp below relies on it for its accuracy).
__attribute__((always_inline)) inline v8f fma(v8f a, v8f b, v8f c) { return __builtin_ia32_vfmaddps256(a, b, c); }

// Entry j: the bits of float(2^(j/8)) less j << 20 (see exp_scaled).
typedef std::uint32_t v8u __attribute__((vector_size(32)));
__attribute__((always_inline)) inline v8u exp_table() {
  return v8u{0x3f800000, 0x3f7b95c2, 0x3f7837f0, 0x3f75fed7, 0x3f7504f3, 0x3f75672a, 0x3f7744fd, 0x3f7ac0c7};
}

// The scale 2^-K of exp_scaled for K = m / ln2 rounded to an integer (|m| <= exp_scaled_max_x - 96): its
// lower clamp and its table, whose exponents carry -K. Vector operations only, a few cycles from m: the
// group's exps wait for them (with K through scalar registers the 37-class pass measured 0.96-1.00 of
// its speed without the shift folded in; with this, 1.00-1.03).
struct ExpShift {
  v8f floor;  // x is raised to it: m - 87.7, within K ln2 - 88.05 and K ln2 - 87.35 (|m - K ln2| <= 0.35)
  v8i table;  // exp_table() less K << 23
  v8f k;      // K, as a float
};
__attribute__((always_inline)) inline ExpShift exp_shift_near(float m) {
  const v8f magic = splat(12582912.0f);  // 1.5 * 2^23: t's low bits hold K
  const v8f t = fma(splat(m), splat(1.44269504088896341f), magic);
  // t << 23 is K << 23 modulo 2^32 (the magic's bits shift out); unsigned, so the wrap is defined
  return {splat(m - 87.7f), reinterpret_cast<v8i>(exp_table() - (reinterpret_cast<v8u>(t) << 23)), t - magic};
}

// e^(x - K ln2) on 8 lanes, with the shift's K (|x| <= exp_scaled_max_x), for x - K ln2 <= 0.36 with
// loss_math::fast_expf_nonpos's contract for e^x at x <= 0 (at most 2 ulp for results of at least 2^-126,
// smaller ones within 2^-126; x - K ln2 up to 88 is right too; NaN kept), by a shorter road:
// x = k ln2/8 + r with |r| <= ln2/16, e^x = 2^(k/8) e^r, 2^((k mod 8)/8) from an 8-entry table in a
// register (vpermps takes each lane's index from the low 3 bits of t, which hold k) and
// e^r = 1 + r + c2 r^2 + c3 r^3, its 1 added last, in the final multiply-add. 7 operations on the
// multiply pipes instead of the degree-6 polynomial's 10: exp is most of the 37-class loss pass. Worst
// error 1.14 ulp at K = 0 (every float in [-87.4, 88] against double exp); the degree-6 form's is 0.91.
// Why K: the softmax family wants e^(x - m) for a row's maximum m, and x - m rounded to float is off by
// up to 2^-25 |x - m| (5-10 ulp of the result at x - m = -20) before exp starts; with m replaced by K ln2
// near it, the 2^-K goes into the exponent field exactly and x is reduced as it is (the 37-class pass's
// gradient where x - m is inexact: mean error 3-7x smaller, worst 2-4x; docs/loss.md). It also saves the
// subtraction: 0-3% faster (A/B).
// Below exp_scaled_max_x |k| <= 12927: k ln2_hi / 8 is exact and k ln2_lo / 8 adds about 0.2 ulp.
inline constexpr float exp_scaled_max_x = 1120.0f;
__attribute__((always_inline)) inline v8f exp_scaled(v8f x, const ExpShift& shift) {
  x = max(shift.floor, x);  // keeps NaN; at the floor floor(k/8) - K >= -127, so the exponent stays in range
  const v8f magic = splat(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer, kept in t's low bits
  const v8f t = fma(x, splat(8.0f * 1.44269504088896341f), magic);
  const v8f k = t - magic;
  const v8f r = fma(k, splat(-loss_math::ln2_lo / 8), fma(k, splat(-loss_math::ln2_hi / 8), x));
  // e^r - 1 = r + r^2 (c2 + c3 r), minimax for relative error on [-ln2/16, ln2/16] (2.6e-8 in exact
  // arithmetic); r^2 and c2 + c3 r side by side shorten the chain (1-2% on the 37-class pass against Horner)
  const v8f q = fma(r * r, fma(splat(1.6666859388e-1f), r, splat(5.0006455183e-1f)), r);
  // Adding t << 20 (k << 20 modulo 2^32: the magic's bits shift out) to entry k mod 8 adds floor(k/8) to
  // the exponent field, which holds -K already; the floor keeps floor(k/8) - K >= -127.
  const v8i ti = reinterpret_cast<v8i>(t);
  const v8f s = reinterpret_cast<v8f>(
      reinterpret_cast<v8i>(__builtin_ia32_permvarsf256(reinterpret_cast<v8f>(shift.table), ti)) + (ti << 20));
  return fma(s, q, s);
}

// e^x for x <= 0 (exp_scaled at K = 0: the floor -88 gives k = -1016, a scale of exactly 0).
__attribute__((always_inline)) inline v8f exp_nonpos(v8f x) {
  return exp_scaled(x, ExpShift{splat(-88.0f), reinterpret_cast<v8i>(exp_table()), splat(0.0f)});
}

// log(s) lane by lane for s >= 2^-126 (the sums of exponentials, which are >= 1), NaN kept: s = m 2^e with
// m in [sqrt(1/2), sqrt(2)), log(1 + f) by Cephes' polynomial for logf (about 1 ulp). One vector sequence
// for 4 or 8 rows instead of a call to logf per row, which would also spill every vector register.
// V is v4f or v8f, I the integer vector of the same shape.
template <class V, class I>
__attribute__((always_inline)) inline V log_lanes(V s) {
  const auto sp = [](float v) { return V{} + v; };
  const auto spi = [](std::int32_t v) { return I{} + v; };
  const I bits = reinterpret_cast<I>(s);
  I e = (bits >> 23) - spi(127);
  V m = reinterpret_cast<V>((bits & spi(0x007fffff)) | spi(0x3f800000));  // [1, 2)
  const I big = m > sp(1.41421356237f);                                    // all ones where true
  m = reinterpret_cast<V>((big & reinterpret_cast<I>(m * sp(0.5f))) | (~big & reinterpret_cast<I>(m)));
  e = e - big;
  const V f = m - sp(1.0f);
  const V ef = __builtin_convertvector(e, V);
  const V z = f * f;
  V p = sp(7.0376836292e-2f);
  p = p * f + sp(-1.1514610310e-1f);
  p = p * f + sp(1.1676998740e-1f);
  p = p * f + sp(-1.2420140846e-1f);
  p = p * f + sp(1.4249322787e-1f);
  p = p * f + sp(-1.6668057665e-1f);
  p = p * f + sp(2.0000714765e-1f);
  p = p * f + sp(-2.4999993993e-1f);
  p = p * f + sp(3.3333331174e-1f);
  V y = f * z * p;
  y = y + ef * sp(-2.12194440e-4f);
  y = y - sp(0.5f) * z;
  V r = f + y;
  r = r + ef * sp(0.693359375f);
  const I ok = s == s;
  return reinterpret_cast<V>((ok & reinterpret_cast<I>(r)) | (~ok & reinterpret_cast<I>(s)));
}
typedef std::int32_t v4i __attribute__((vector_size(16)));
__attribute__((always_inline)) inline v4f log4(v4f s) { return log_lanes<v4f, v4i>(s); }
__attribute__((always_inline)) inline v8f log8(v8f s) { return log_lanes<v8f, v8i>(s); }

// Lanes [skip, 8) of a chunk: the part of the overlapping last chunk of a row not seen before.
__attribute__((always_inline)) inline v8i lanes_from(std::int64_t skip) {
  const v8i iota{0, 1, 2, 3, 4, 5, 6, 7};
  return iota >= splat_i(static_cast<std::int32_t>(skip));
}

// Asks for the cache line at p ahead of its use (never faults, whatever p is).
__attribute__((always_inline)) inline void prefetch(const float* p) { __builtin_prefetch(p, 0, 3); }
// The same for a line about to be written, so the store does not wait for it. Under x86-64-v3 (no PRFCHW)
// this is a plain prefetcht0, not prefetchw: a line no other core holds arrives Exclusive and is written
// without a second request; prefetchw itself (inline asm) measured the same at 262144 x 37.
__attribute__((always_inline)) inline void prefetch_for_write(const float* p) { __builtin_prefetch(p, 1, 3); }

}  // namespace fastpp::loss_simd
#endif
