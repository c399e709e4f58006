#pragma once
// The stream fastpp::cuda's kernels are queued on. Each host thread has a current stream, the default
// stream until a StreamGuard (or set_current_stream) names another; a Learner on the cuda device runs its
// training loop on a stream of its own. Streams are opaque here (cudaStream_t is a pointer to an
// incomplete type), so plain C++ code needs no CUDA header.
#if !defined(FASTPP_WITH_CUDA)
#error "fastpp/backend/cuda/stream.hpp belongs to fastpp::cuda: configure with -DFASTPP_CUDA=ON, link fastpp::cuda"
#endif

namespace fastpp::cuda_runtime {

struct StreamHandle;  // a CUstream_st; converts to cudaStream_t inside src/cuda

// A non-blocking stream, created on construction and destroyed (after its work ends) with the object.
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  StreamHandle* handle() const { return handle_; }
  void synchronize() const;

 private:
  StreamHandle* handle_;
};

StreamHandle* current_stream() noexcept;  // null: the default stream
void set_current_stream(StreamHandle* s) noexcept;
void synchronize_current_stream();

// Makes `s` current for this thread until the guard goes, then restores the previous stream.
class StreamGuard {
 public:
  explicit StreamGuard(const Stream& s) : previous_(current_stream()) { set_current_stream(s.handle()); }
  ~StreamGuard() { set_current_stream(previous_); }
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  StreamHandle* previous_;
};

}  // namespace fastpp::cuda_runtime
