#pragma once
// The cpu's cast kernels: fastpp::backend::cast_kernels<cpu>, float <-> half and bfloat16 over host arrays,
// with core/half.hpp's rounding (to nearest, ties to even; the GPU's casts round the same way).
#include <cstdint>

#include "../../core/device.hpp"
#include "../../core/half.hpp"
#include "../../core/thread_pool.hpp"
#include "../tables.hpp"

namespace fastpp::backend {

namespace cpu_detail {
// Elements per task: a cast is one read and one write, so a task must be long to pay for its start.
inline constexpr std::int64_t cast_grain = std::int64_t{1} << 15;

template <class From, class To>
void convert(const From* src, std::int64_t n, To* dst) {
  parallel_for(0, n, cast_grain, [src, dst](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) dst[i] = To(static_cast<float>(src[i]));
  });
}
}  // namespace cpu_detail

template <>
struct cast_kernels<fastpp::cpu> {
  static void to_float(const half* src, std::int64_t n, float* dst) { cpu_detail::convert(src, n, dst); }
  static void to_float(const bfloat16* src, std::int64_t n, float* dst) { cpu_detail::convert(src, n, dst); }
  static void from_float(const float* src, std::int64_t n, half* dst) { cpu_detail::convert(src, n, dst); }
  static void from_float(const float* src, std::int64_t n, bfloat16* dst) { cpu_detail::convert(src, n, dst); }
};

}  // namespace fastpp::backend
