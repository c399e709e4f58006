#pragma once
// The one float exp of the loss kernels, one template for a scalar float and for a GCC/Clang vector of
// floats (the AVX2 rows use 8 lanes, the portable ones 1); double rows use std::exp.
//
// exp_nonpos(x) for x <= 0 (the kernels only take exp of x - max, or of -|x|): x = n ln2 + r, |r| <= ln2/2,
// exp(r) = 1 + r + c2 r^2 + ... + c6 r^6 with c2..c6 fitted to exp's relative error on [-ln2/2, ln2/2]
// (Lawson's weighted least squares: 3.1e-9, against 2.4e-7 for Taylor's degree 6), and 2^n put in the
// exponent bits. Within 2 ulp of the rounded exp for normal results (tested); results below 2^-126
// (x < -87.34) flush to 0: next to the row maximum's exp(0) = 1 they change no sum. NaN stays NaN.
// Vectors go by reference and bits move by __builtin_bit_cast: a 32-byte vector passed by value to a
// function built without AVX is an ABI error in Clang (a warning in GCC), and these inline into AVX2 code.
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace fastpp::backend::cpu_detail {

template <class V>
[[gnu::always_inline]] inline void exp_nonpos(V& x) {
  // integers of V's shape: what comparing two V gives (a vector of int32), int32 for a scalar float
  using I = std::conditional_t<std::is_same_v<V, float>, std::int32_t, decltype(x < x)>;
  const V magic = V{} + 0x1.8p23f;           // adding it rounds to an integer, kept in the low mantissa bits
  const V t = x * 1.44269504088896341f + magic;
  const V n = t - magic;                      // round(x / ln2), exact
  // ln2 in two parts: n * ln2_hi is exact for |n| < 2^8, so r carries no error from the reduction
  const V r = (x - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f;
  const V p = 1.0f + r * (1.0f + r * (0.49999994f + r * (0.16666521f + r * (0.041668389f + r * (0.0083687101f +
                                                                                              r * 0.0013814613f)))));
  const I k = __builtin_bit_cast(I, t) - __builtin_bit_cast(I, magic);  // n as an integer
  const V scale = __builtin_bit_cast(V, (k + 127) << 23);                // 2^n, for n >= -126
  I keep;  // all ones where x is not below the bound (NaN included): results below 2^-126 become 0
  if constexpr (std::is_same_v<V, float>) keep = -static_cast<I>(!(x < -87.336544f));
  else keep = ~(x < -87.336544f);  // a vector comparison gives -1 (all ones) per lane where it holds
  x = __builtin_bit_cast(V, __builtin_bit_cast(I, p * scale) & keep);
}

// exp(x) for x <= 0 as a value in the row's type: the polynomial above for float, std::exp for double.
inline float exp_nonpos_value(float x) {
  exp_nonpos(x);
  return x;
}
inline double exp_nonpos_value(double x) { return std::exp(x); }

}  // namespace fastpp::backend::cpu_detail
