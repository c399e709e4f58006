// Casts (declared in backend/cuda/cast.hpp). The rounding is core/half.hpp's float_to_half_bits, the
// function the cpu kernel runs, so both give the same bits.
#include <cuda_runtime.h>

#include <fastpp/backend/cuda/cast.hpp>
#include <fastpp/core/half.hpp>

#include "check.hpp"
#include "stream.hpp"

namespace fastpp::cuda_kernels {

namespace {
__global__ void round_to_half_kernel(const float* src, std::int64_t n, float* dst) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    dst[i] = fastpp::detail::half_bits_to_float(fastpp::detail::float_to_half_bits(src[i]));
}
}  // namespace

void round_to_half(const float* src, std::int64_t n, float* dst) {
  if (n <= 0) return;
  constexpr int threads = 256;
  const std::int64_t wanted = (n + threads - 1) / threads;
  const unsigned blocks = static_cast<unsigned>(wanted < 65535 * 8 ? wanted : 65535 * 8);  // grid-stride beyond
  round_to_half_kernel<<<blocks, threads, 0, cuda_runtime::stream()>>>(src, n, dst);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace fastpp::cuda_kernels
