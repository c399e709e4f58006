// Device memory and copies for Tensor<T, cuda>, declared in include/fastpp/core/allocator.hpp.
// Memory comes from a caching allocator (core/caching_allocator.hpp), so a training step that repeats the
// last one's sizes never calls cudaMalloc, which synchronises the whole device. Every CUDA call is checked
// (check.hpp): a failure is a fastpp::Error naming the call, file and line.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
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

// Blocks are pooled per stream (core/caching_allocator.hpp): a block is reused only by the stream it was made
// for, where its earlier work is ordered before the new.
void* allocate(std::size_t bytes) { return cache().allocate(bytes, current_stream()); }

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
// work. A copy to host memory waits for its end, since the host reads the buffer next.
//
// A copy from the host goes through pinned staging buffers: the host's bytes are copied into page-locked
// memory (a memcpy), and the DMA from there is queued on the stream without waiting for it, so the host
// goes on (to the next batch, or the model's kernels' launches) while the bytes travel; a pageable source
// would make the driver stage it itself, synchronously. Each thread keeps two 16 MiB buffers and reuses one
// only after the DMA that read it has finished (an event), so the source may be freed or changed as soon as
// the call returns. Small copies (parameters, targets) take the plain path.
namespace {
constexpr std::size_t staging_bytes = std::size_t{16} << 20;
constexpr std::size_t small_copy = std::size_t{256} << 10;

class Staging {
 public:
  Staging() {
    for (Slot& s : slots_) {
      FASTPP_CUDA_CHECK(cudaHostAlloc(&s.host, staging_bytes, cudaHostAllocDefault));
      FASTPP_CUDA_CHECK(cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming));
    }
  }
  ~Staging() {  // at thread exit: unchecked, the driver may already be shutting down
    for (Slot& s : slots_) {
      (void)cudaEventSynchronize(s.done);
      (void)cudaEventDestroy(s.done);
      (void)cudaFreeHost(s.host);
    }
  }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  void copy(void* dst, const void* src, std::size_t bytes) {
    auto* d = static_cast<char*>(dst);
    const auto* h = static_cast<const char*>(src);
    const cudaStream_t st = stream();
    for (std::size_t off = 0; off < bytes; off += staging_bytes) {
      Slot& s = slots_[next_];
      next_ = (next_ + 1) % slots;
      FASTPP_CUDA_CHECK(cudaEventSynchronize(s.done));  // the DMA that last read this buffer is over
      const std::size_t n = bytes - off < staging_bytes ? bytes - off : staging_bytes;
      std::memcpy(s.host, h + off, n);
      FASTPP_CUDA_CHECK(cudaMemcpyAsync(d + off, s.host, n, cudaMemcpyHostToDevice, st));
      FASTPP_CUDA_CHECK(cudaEventRecord(s.done, st));
    }
  }

 private:
  static constexpr int slots = 2;
  struct Slot {
    void* host = nullptr;
    cudaEvent_t done = nullptr;
  };
  Slot slots_[slots];
  int next_ = 0;
};
}  // namespace

void copy_to_device(void* dst, const void* src, std::size_t bytes) {
  if (bytes >= small_copy) {
    thread_local Staging staging;
    staging.copy(dst, src, bytes);
    return;
  }
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
