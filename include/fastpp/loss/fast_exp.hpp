#pragma once
// exp for the loss kernels. glibc's expf is a function call that GCC cannot vectorise without
// -ffast-math, and softmax spends most of its time in exp, so float uses the polynomial below: plain
// arithmetic and bit casts that the compiler turns into AVX2 code in a loop, and that a CUDA kernel
// compiles unchanged. double keeps std::exp (it is the precision reference, not the fast path).
//
// Accuracy of fast_expf over the float range: at most 2 ulp from the correctly rounded result
// (tests/loss/test_fast_exp.cpp measures it against double exp on a dense sweep).
#include <cmath>
#include <cstdint>

#include "../core/dtype.hpp"
#include "../core/half.hpp"
#include "../core/host_device.hpp"

namespace fastpp::loss_math {

// c ? a : b without a branch. GCC 12 does not if-convert `x > k ? x : k` on floats under its default
// -ftrapping-math, and a branch in a loop stops vectorisation; selecting bits with a mask does vectorise
// (to vcmpps + vblendvps), on GCC and clang alike.
FASTPP_HD_INLINE float select(bool c, float a, float b) {
  const std::uint32_t m = 0u - static_cast<std::uint32_t>(c);
  return detail::bits_float((detail::float_bits(a) & m) | (detail::float_bits(b) & ~m));
}
FASTPP_HD_INLINE double select(bool c, double a, double b) { return c ? a : b; }

// max and min that vectorise; like vmaxps, a NaN in `a` yields b.
FASTPP_HD_INLINE float max_of(float a, float b) { return select(a > b, a, b); }
FASTPP_HD_INLINE double max_of(double a, double b) { return a > b ? a : b; }

// e^x in float. Range reduction x = n ln2 + r, |r| <= ln2/2, with ln2 split in two so r is exact,
// then e^r = 1 + r + r^2 q(r) with q of degree 4, fitted
// minimax for relative error on [-ln2/2, ln2/2] (3.8e-9 in exact arithmetic; the float evaluation adds
// the rest). 2^n is applied in two halves, so results down to the
// subnormal range (x >= -103.9) and up to FLT_MAX come out right; beyond them 0 and +inf. NaN stays NaN.
FASTPP_HD_INLINE float fast_expf(float x) {
  constexpr float lo = -104.0f, hi = 88.8f;
  const float xc = select(x < hi, select(x > lo, x, lo), hi);  // NaN becomes hi here; restored below
  constexpr float magic = 12582912.0f;               // 1.5 * 2^23: adding it rounds to an integer
  const float t = xc * 1.44269504088896341f + magic;
  const float n = t - magic;
  const std::int32_t ni = static_cast<std::int32_t>(detail::float_bits(t) - 0x4B400000u);
  float r = xc - n * 0.693359375f;  // ln2's high part has few bits: n * it is exact
  r = r - n * -2.12194440e-4f;      // ln2's low part
  const float r2 = r * r;
  float p = 1.381461276e-3f;
  p = p * r + 8.368710056e-3f;
  p = p * r + 4.166838899e-2f;
  p = p * r + 1.666652113e-1f;
  p = p * r + 4.999999404e-1f;
  const float er = p * r2 + r + 1.0f;
  const std::int32_t n1 = ni >> 1, n2 = ni - n1;  // each half lies in [-75, 64]: a normal power of two
  const float s1 = detail::bits_float(static_cast<std::uint32_t>(n1 + 127) << 23);
  const float s2 = detail::bits_float(static_cast<std::uint32_t>(n2 + 127) << 23);
  const float e = er * s1 * s2;
  return select(x == x, e, x);
}

// Constants of fast_expf_nonpos; the AVX2 form (loss_simd::exp_nonpos) shares the split of ln2 and the
// contract, not the polynomial (it reduces to |r| <= ln2/16 with a table, see simd_vec.hpp).
inline constexpr float exp_magic = 12582912.0f + 127.0f;  // 1.5 * 2^23 + 127: rounds to an integer, keeps n + 127
inline constexpr float ln2_hi = 0.693359375f;            // few bits: n * ln2_hi is exact
inline constexpr float ln2_lo = -2.12194440e-4f;
// e^r = 1 + r + c2 r^2 + ... + c6 r^6 on [-ln2/2, ln2/2] (the polynomial of fast_expf, in Horner form)
inline constexpr float exp_c2 = 4.999999404e-1f, exp_c3 = 1.666652113e-1f, exp_c4 = 4.166838899e-2f,
                       exp_c5 = 8.368710056e-3f, exp_c6 = 1.381461276e-3f;

// e^x for x <= 0, the arguments of the softmax family (x - max, x - logsumexp, -|x|): cheaper than
// fast_expf (13 vector operations against 19) because it applies 2^n in one step, which is exact for
// results of at least 2^-126; results below that flush to 0 (an absolute error under 1.2e-38). Same
// polynomial, evaluated by Horner's rule: at most 2 ulp for results in the normal range (tested); it also
// stays right for x up to 88 (results up to 2^127). NaN stays NaN.
FASTPP_HD_INLINE float fast_expf_nonpos(float x) {
  const float xc = select(x < -88.0f, -88.0f, x);  // keeps NaN; -88 gives n = -127, a scale of exactly 0
  const float t = xc * 1.44269504088896341f + exp_magic;
  const float n = t - exp_magic;
  float r = xc - n * ln2_hi;
  r = r - n * ln2_lo;
  float p = exp_c6;
  p = p * r + exp_c5;
  p = p * r + exp_c4;
  p = p * r + exp_c3;
  p = p * r + exp_c2;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // t's low bits hold n + 127 (0 for the clamped -88); shifted into the exponent field they are 2^n, and
  // the magic's own bits shift out
  return p * detail::bits_float(detail::float_bits(t) << 23);
}

// exp in the accumulation type of T: the fast float version for float, half and bfloat16; std::exp for double.
FASTPP_HD_INLINE float exp_acc(float x) { return fast_expf(x); }
FASTPP_HD_INLINE double exp_acc(double x) { return std::exp(x); }
// exp for x <= 0 (see fast_expf_nonpos), in the accumulation type.
FASTPP_HD_INLINE float exp_nonpos(float x) { return fast_expf_nonpos(x); }
FASTPP_HD_INLINE double exp_nonpos(double x) { return std::exp(x); }

FASTPP_HD_INLINE float log_acc(float x) { return std::log(x); }
FASTPP_HD_INLINE double log_acc(double x) { return std::log(x); }

FASTPP_HD_INLINE float log1p_acc(float x) { return std::log1p(x); }
FASTPP_HD_INLINE double log1p_acc(double x) { return std::log1p(x); }

}  // namespace fastpp::loss_math
