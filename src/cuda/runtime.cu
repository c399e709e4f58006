// Device memory and copies for Tensor<T, cuda>, declared in include/fastpp/core/allocator.hpp.
// Memory comes from a caching allocator (core/caching_allocator.hpp), so a training step that repeats the
// last one's sizes never calls cudaMalloc, which synchronises the whole device. Every CUDA call is checked
// (check.hpp): a failure is a fastpp::Error naming the call, file and line.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <fastpp/core/allocator.hpp>
#include <fastpp/core/caching_allocator.hpp>

#include "check.hpp"
#include "stream.hpp"

namespace fastpp::cuda_runtime {

namespace {
struct CudaMemory {
  // nullptr when the device is full, so the cache can free what it holds and try again.
  void* allocate(std::size_t bytes) {
    void* p = nullptr;
    const cudaError_t err = cudaMalloc(&p, bytes);
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // clear it, or the next checked call would report this failure again
      return nullptr;
    }
    cuda_check::cuda(err, "cudaMalloc(&p, bytes)", __FILE__, __LINE__);
    return p;
  }
  // Unchecked: it runs in deleters (noexcept), and after a kernel fault every later call fails too, so the
  // next checked call reports the fault with its own name.
  void release(void* p) noexcept { (void)cudaFree(p); }
};

// Never destroyed: tensors held by static objects may be freed after static destructors ran, and cudaFree
// at exit can meet an unloaded driver.
CachingAllocator<CudaMemory>& cache() {
  static auto* const c = new CachingAllocator<CudaMemory>();
  return *c;
}
}  // namespace

void* allocate(std::size_t bytes) { return cache().allocate(bytes); }

void release(void* p) noexcept {
  if (p == nullptr) return;
  if (!cache().release(p)) {
    // A pointer the cache never handed out: freeing it would corrupt someone else's memory.
    std::fprintf(stderr, "fastpp: cuda release of %p, which fastpp's cuda allocator did not allocate\n", p);
    std::abort();
  }
}

CachingAllocatorStats cache_stats() { return cache().stats(); }
std::size_t release_cached() noexcept { return cache().release_cached(); }

// Copies are ordered on the calling thread's current stream (stream.hpp), after the kernels queued there: a
// blocking cudaMemcpy runs on the legacy default stream, which does not wait for a non-blocking stream's
// work. A copy from or to host memory waits for its end, since the host may reuse or read the buffer next.
void copy_to_device(void* dst, const void* src, std::size_t bytes) {
  FASTPP_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
  FASTPP_CUDA_CHECK(cudaStreamSynchronize(stream()));
}
void copy_to_host(void* dst, const void* src, std::size_t bytes) {
  FASTPP_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  FASTPP_CUDA_CHECK(cudaStreamSynchronize(stream()));
}
void copy_on_device(void* dst, const void* src, std::size_t bytes) {
  FASTPP_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
}

}  // namespace fastpp::cuda_runtime
