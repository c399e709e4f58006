#pragma once
// Casts of fastpp::cuda (src/cuda/cast.cu), queued on the current stream, device pointers.
#if !defined(FASTPP_WITH_CUDA)
#error "fastpp/backend/cuda/cast.hpp declares kernels of fastpp::cuda: configure with -DFASTPP_CUDA=ON, link fastpp::cuda"
#endif
#include <cstdint>

namespace fastpp::cuda_kernels {

// dst[i] = src[i] rounded to the nearest half, as a float (the cpu's optim_kernels<cpu>::round_to_half,
// the same bits: both use core/half.hpp's conversion). dst may be src.
void round_to_half(const float* src, std::int64_t n, float* dst);

}  // namespace fastpp::cuda_kernels
