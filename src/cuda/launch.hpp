#pragma once
// Launch shapes shared by fastpp::cuda's element and window kernels (elementwise.cu, norm.cu, pool.cu):
// grid-stride loops over 64-bit counts, so a grid never needs more blocks than fill the GPU a few times
// over, and no count meets gridDim's limits.
#include <cuda_runtime.h>

#include <cstdint>

#include "check.hpp"

namespace fastpp::cuda_launch {

// Threads per block of the one-dimensional kernels.
inline constexpr int threads = 256;

// The current device's multiprocessors.
inline int multiprocessors() {
  int device = 0, sms = 0;
  FASTPP_CUDA_CHECK(cudaGetDevice(&device));
  FASTPP_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  return sms;
}

// Blocks for a grid-stride loop over n items at `per_block` items a block: one block per per_block items,
// at most 32 blocks a multiprocessor (enough to hide latency; beyond it each thread loops). n > 0.
inline unsigned blocks_for(std::int64_t n, std::int64_t per_block) {
  const std::int64_t want = (n + per_block - 1) / per_block;
  const std::int64_t cap = std::int64_t{32} * multiprocessors();
  return static_cast<unsigned>(want < cap ? want : cap);
}

// The grid-stride loop's first index and step for this thread.
__device__ __forceinline__ std::int64_t first_index() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ std::int64_t grid_step() { return static_cast<std::int64_t>(gridDim.x) * blockDim.x; }

// a / b, with a % b in `rem`, for 0 <= a and 0 < b: in 32 bits where both fit, since a 64-bit division is
// a long software routine on the GPU and the kernels split a flat index into coordinates per element.
__device__ __forceinline__ std::int64_t divmod(std::int64_t a, std::int64_t b, std::int64_t& rem) {
  const std::int64_t q = ((a | b) >> 32) == 0
                             ? static_cast<std::int64_t>(static_cast<std::uint32_t>(a) / static_cast<std::uint32_t>(b))
                             : a / b;
  rem = a - q * b;
  return q;
}

}  // namespace fastpp::cuda_launch
