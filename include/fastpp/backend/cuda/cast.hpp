#pragma once
// Casts of fastpp::cuda (src/cuda/cast.cu), queued on the current stream, device pointers.
#if !defined(FASTPP_WITH_CUDA)
#error "fastpp/backend/cuda/cast.hpp declares kernels of fastpp::cuda: configure with -DFASTPP_CUDA=ON, link fastpp::cuda"
#endif
#include <cstdint>

#include "../../core/half.hpp"

namespace fastpp::cuda_kernels {

// dst[i] = src[i] rounded to the nearest half, as a float (the cpu's optim_kernels<cpu>::round_to_half,
// the same bits, NaN's payload aside: both use core/half.hpp's conversion). dst may be src.
void round_to_half(const float* src, std::int64_t n, float* dst);

// float <-> half and bfloat16 arrays (cast_kernels<cuda>): core/half.hpp's conversions, the cpu's bits
// (round to nearest, ties to even; NaN stays NaN, the GPU's canonical one). n <= 0 does nothing.
void to_float(const half* src, std::int64_t n, float* dst);
void to_float(const bfloat16* src, std::int64_t n, float* dst);
void from_float(const float* src, std::int64_t n, half* dst);
void from_float(const float* src, std::int64_t n, bfloat16* dst);

// dst[i] += src[i] in float: a half or bfloat16 gradient (cuDNN's dw in the activations' type) added into
// a float parameter's gradient.
void add_to_float(const half* src, std::int64_t n, float* dst);
void add_to_float(const bfloat16* src, std::int64_t n, float* dst);

}  // namespace fastpp::cuda_kernels
