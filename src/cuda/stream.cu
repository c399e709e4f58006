// Streams and the calling thread's current stream (declared in backend/cuda/stream.hpp).
#include <cuda_runtime.h>

#include <cstdio>

#include "check.hpp"
#include "stream.hpp"

namespace fastpp::cuda_runtime {

namespace {
thread_local StreamHandle* current = nullptr;
StreamHandle* from_cuda(cudaStream_t s) { return reinterpret_cast<StreamHandle*>(s); }
}  // namespace

Stream::Stream() : handle_(nullptr) {
  cudaStream_t s = nullptr;
  FASTPP_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  handle_ = from_cuda(s);
}

Stream::~Stream() {
  // Unchecked: a destructor cannot throw, and after a fault every call fails; the work queued on the stream
  // finishes first (cudaStreamDestroy returns at once and releases the stream when its work is done).
  if (handle_ != nullptr) (void)cudaStreamDestroy(to_cuda(handle_));
}

void Stream::synchronize() const { FASTPP_CUDA_CHECK(cudaStreamSynchronize(to_cuda(handle_))); }

StreamHandle* current_stream() noexcept { return current; }
void set_current_stream(StreamHandle* s) noexcept { current = s; }
void synchronize_current_stream() { FASTPP_CUDA_CHECK(cudaStreamSynchronize(stream())); }

}  // namespace fastpp::cuda_runtime
