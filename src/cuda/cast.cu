// Casts (declared in backend/cuda/cast.hpp). The rounding is core/half.hpp's (float_to_half_bits,
// float_to_bfloat16_bits, through half's and bfloat16's constructors), the functions the cpu kernels run, so
// both give the same bits (in device code those are the GPU's conversion instructions: NaN becomes the GPU's
// canonical NaN).
#include <cuda_runtime.h>

#include <fastpp/backend/cuda/cast.hpp>
#include <fastpp/core/half.hpp>

#include "check.hpp"
#include "launch.hpp"
#include "stream.hpp"

namespace fastpp::cuda_kernels {

namespace {
__global__ void round_to_half_kernel(const float* src, std::int64_t n, float* dst) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    dst[i] = fastpp::detail::half_bits_to_float(fastpp::detail::float_to_half_bits(src[i]));
}

// dst[i] = To(float(src[i])): a widening (From half or bfloat16, To float) or a rounding (From float).
template <class From, class To>
__global__ void convert_kernel(const From* src, std::int64_t n, To* dst) {
  for (std::int64_t i = cuda_launch::first_index(); i < n; i += cuda_launch::grid_step())
    dst[i] = To(static_cast<float>(src[i]));
}

template <class T>
__global__ void add_to_float_kernel(const T* src, std::int64_t n, float* dst) {
  for (std::int64_t i = cuda_launch::first_index(); i < n; i += cuda_launch::grid_step())
    dst[i] += static_cast<float>(src[i]);
}

template <class From, class To>
void convert(const From* src, std::int64_t n, To* dst) {
  if (n <= 0) return;
  convert_kernel<<<cuda_launch::blocks_for(n, cuda_launch::threads), cuda_launch::threads, 0,
                   cuda_runtime::stream()>>>(src, n, dst);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

template <class T>
void add_into(const T* src, std::int64_t n, float* dst) {
  if (n <= 0) return;
  add_to_float_kernel<<<cuda_launch::blocks_for(n, cuda_launch::threads), cuda_launch::threads, 0,
                        cuda_runtime::stream()>>>(src, n, dst);
  FASTPP_CUDA_CHECK(cudaGetLastError());
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

void to_float(const half* src, std::int64_t n, float* dst) { convert(src, n, dst); }
void to_float(const bfloat16* src, std::int64_t n, float* dst) { convert(src, n, dst); }
void from_float(const float* src, std::int64_t n, half* dst) { convert(src, n, dst); }
void from_float(const float* src, std::int64_t n, bfloat16* dst) { convert(src, n, dst); }
void add_to_float(const half* src, std::int64_t n, float* dst) { add_into(src, n, dst); }
void add_to_float(const bfloat16* src, std::int64_t n, float* dst) { add_into(src, n, dst); }

}  // namespace fastpp::cuda_kernels
