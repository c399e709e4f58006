#pragma once
// Warp and block reductions shared by fastpp::cuda's row kernels (cross_entropy.cu, loss.cu). Every
// reduction here combines values in a fixed pattern (a butterfly over the warp, then one warp over the
// warps' results), so a result depends only on the inputs and the block shape, never on scheduling.
#include <cuda_runtime.h>

namespace fastpp::cuda_kernels::reduce {

constexpr unsigned full_mask = 0xffffffffu;

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(full_mask, v, o));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(full_mask, v, o);
  return v;
}
__device__ __forceinline__ double warp_sum(double v) {
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(full_mask, v, o);
  return v;
}

// Reduces one value per thread over the block with a warp reduction op whose identity is `identity`;
// `slots` holds 32 partial results. Every thread of the block must call it; all get the result.
template <class V, class Op>
__device__ V block_reduce(V v, V* slots, Op op, V identity) {
  const int lane = static_cast<int>(threadIdx.x % 32), warp = static_cast<int>(threadIdx.x / 32);
  const int warps = static_cast<int>((blockDim.x + 31) / 32);
  v = op(v);
  if (lane == 0) slots[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < warps ? slots[lane] : identity;
    v = op(v);
    if (lane == 0) slots[0] = v;
  }
  __syncthreads();
  v = slots[0];
  __syncthreads();  // slots is used again by the next reduction
  return v;
}

}  // namespace fastpp::cuda_kernels::reduce
