#pragma once
// 16-bit floating-point storage types: IEEE binary16 (`half`) and bfloat16. They are storage formats:
// arithmetic converts to float, computes, and rounds back (round to nearest, ties to even), which is
// what PyTorch does on the CPU and what a CUDA kernel does when it accumulates in float.
// The bit layout equals CUDA's __half and __nv_bfloat16, so buffers pass to kernels unchanged.
//
// The conversions are written out in integer arithmetic (the host has no half instructions everywhere, and a
// constexpr conversion needs them). Device code takes the GPU's conversion instructions instead
// (cvt.rn.f16.f32 and friends: one instruction, where the integer version is about fifteen, which would make a
// kernel that streams half values compute-bound): the same value for every input, NaN aside (the GPU
// returns its canonical NaN, 0x7fff, where the host keeps the payload's high bits).
#include <bit>
#include <cstdint>
#include <iosfwd>
#include <ostream>
#include <type_traits>

#include "host_device.hpp"

#if defined(__CUDA_ARCH__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

namespace fastpp {

namespace detail {

FASTPP_HD_INLINE constexpr std::uint32_t float_bits(float f) { return std::bit_cast<std::uint32_t>(f); }
FASTPP_HD_INLINE constexpr float bits_float(std::uint32_t u) { return std::bit_cast<float>(u); }

FASTPP_HD_INLINE constexpr std::uint16_t float_to_half_bits(float f) {
#if defined(__CUDA_ARCH__)
  if (!std::is_constant_evaluated()) return __half_as_ushort(__float2half_rn(f));
#endif
  const std::uint32_t x = float_bits(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or NaN; keep NaN quiet and non-zero
    return static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x0200u | ((abs >> 13) & 0x3ffu) : 0u));
  }
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (abs < 0x38800000u) {                                                    // below 2^-14: subnormal half
    if (abs < 0x33000000u) return static_cast<std::uint16_t>(sign);          // below 2^-25: rounds to 0
    const std::uint32_t exp = abs >> 23;                                      // 102..112
    const std::uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126u - exp;                                   // 14..24
    std::uint32_t h = mant >> shift;
    const std::uint32_t rem = mant & ((1u << shift) - 1u);
    const std::uint32_t halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (h & 1u))) ++h;
    return static_cast<std::uint16_t>(sign | h);
  }
  // normal: rebias exponent 127 -> 15, round mantissa from 23 to 10 bits
  std::uint32_t h = ((abs - 0x38000000u) >> 13);
  const std::uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return static_cast<std::uint16_t>(sign | h);
}

FASTPP_HD_INLINE constexpr float half_bits_to_float(std::uint16_t h) {
#if defined(__CUDA_ARCH__)
  if (!std::is_constant_evaluated()) return __half2float(__ushort_as_half(h));
#endif
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  if (exp == 0x1fu) return bits_float(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) {
    if (mant == 0) return bits_float(sign);
    // subnormal: normalise
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while ((mant & 0x400u) == 0);
    return bits_float(sign | ((112u - static_cast<std::uint32_t>(e)) << 23) | ((mant & 0x3ffu) << 13));
  }
  return bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
}

FASTPP_HD_INLINE constexpr std::uint16_t float_to_bfloat16_bits(float f) {
#if defined(__CUDA_ARCH__)
  if (!std::is_constant_evaluated()) return __bfloat16_as_ushort(__float2bfloat16_rn(f));
#endif
  const std::uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  const std::uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
  return static_cast<std::uint16_t>((x + rounding) >> 16);
}

FASTPP_HD_INLINE constexpr float bfloat16_bits_to_float(std::uint16_t b) {
  return bits_float(static_cast<std::uint32_t>(b) << 16);
}

struct from_bits_t {};

}  // namespace detail

struct half {
  std::uint16_t bits = 0;
  constexpr half() = default;
  FASTPP_HD constexpr half(float f) : bits(detail::float_to_half_bits(f)) {}  // NOLINT: implicit like __half
  FASTPP_HD constexpr half(std::uint16_t b, detail::from_bits_t) : bits(b) {}
  FASTPP_HD constexpr operator float() const { return detail::half_bits_to_float(bits); }
  static constexpr half from_bits(std::uint16_t b) { return half(b, detail::from_bits_t{}); }
};

struct bfloat16 {
  std::uint16_t bits = 0;
  constexpr bfloat16() = default;
  FASTPP_HD constexpr bfloat16(float f) : bits(detail::float_to_bfloat16_bits(f)) {}  // NOLINT
  FASTPP_HD constexpr bfloat16(std::uint16_t b, detail::from_bits_t) : bits(b) {}
  FASTPP_HD constexpr operator float() const { return detail::bfloat16_bits_to_float(bits); }
  static constexpr bfloat16 from_bits(std::uint16_t b) { return bfloat16(b, detail::from_bits_t{}); }
};

static_assert(sizeof(half) == 2 && sizeof(bfloat16) == 2, "16-bit floats must be exactly two bytes");

inline std::ostream& operator<<(std::ostream& os, half h) { return os << static_cast<float>(h); }
inline std::ostream& operator<<(std::ostream& os, bfloat16 b) { return os << static_cast<float>(b); }

}  // namespace fastpp
