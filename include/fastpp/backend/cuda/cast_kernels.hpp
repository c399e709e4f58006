#pragma once
// fastpp::backend::cast_kernels<cuda>: float <-> half and bfloat16 over device arrays (src/cuda/cast.cu),
// queued on the current stream, with the cpu's rounding (core/half.hpp: to nearest, ties to even).
#include <cstdint>

#include "../../core/device.hpp"
#include "../../core/half.hpp"
#include "../tables.hpp"
#include "cast.hpp"

namespace fastpp::backend {

template <>
struct cast_kernels<fastpp::cuda> {
  static void to_float(const half* src, std::int64_t n, float* dst) { cuda_kernels::to_float(src, n, dst); }
  static void to_float(const bfloat16* src, std::int64_t n, float* dst) { cuda_kernels::to_float(src, n, dst); }
  static void from_float(const float* src, std::int64_t n, half* dst) { cuda_kernels::from_float(src, n, dst); }
  static void from_float(const float* src, std::int64_t n, bfloat16* dst) { cuda_kernels::from_float(src, n, dst); }
};

}  // namespace fastpp::backend
