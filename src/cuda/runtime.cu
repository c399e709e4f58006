// Device memory and copies for Tensor<T, cuda>, declared in include/fastpp/core/allocator.hpp.
// Every CUDA call is checked; a failure becomes a fastpp::Error naming the call and CUDA's message.
#include <cuda_runtime.h>

#include <fastpp/core/allocator.hpp>
#include <string>

namespace fastpp::cuda_runtime {

namespace {
void check_cuda(cudaError_t err, const char* what, std::size_t bytes) {
  if (err != cudaSuccess) {
    throw Error(std::string("CUDA: ") + what + " of " + std::to_string(bytes) + " bytes failed: " +
                cudaGetErrorString(err));
  }
}
}  // namespace

void* allocate(std::size_t bytes) {
  void* p = nullptr;
  check_cuda(cudaMalloc(&p, bytes == 0 ? 1 : bytes), "cudaMalloc", bytes);
  return p;
}

void release(void* p) noexcept { cudaFree(p); }

void copy_to_device(void* dst, const void* src, std::size_t bytes) {
  check_cuda(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy host to device", bytes);
}
void copy_to_host(void* dst, const void* src, std::size_t bytes) {
  check_cuda(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy device to host", bytes);
}
void copy_on_device(void* dst, const void* src, std::size_t bytes) {
  check_cuda(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy device to device", bytes);
}

}  // namespace fastpp::cuda_runtime
