#pragma once
// The stream fastpp::cuda's kernels are queued on. Each host thread has a current stream, the default
// stream until a StreamGuard (or set_current_stream) names another; a Learner on the cuda device runs its
// training loop on a stream of its own. Streams are opaque here (cudaStream_t is a pointer to an
// incomplete type), so plain C++ code needs no CUDA header.
#if !defined(FASTPP_WITH_CUDA)
#error "fastpp/backend/cuda/stream.hpp belongs to fastpp::cuda: configure with -DFASTPP_CUDA=ON, link fastpp::cuda"
#endif
#include <exception>

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

#include "../../core/device.hpp"
#include "../tables.hpp"

namespace fastpp::backend {

// A learner's stream: its training and inference run on a stream of their own, made current for the
// duration of a fit, validate, get_preds or predict, and waited for at the end of each.
template <>
struct execution_context<fastpp::cuda> {
  cuda_runtime::Stream stream;

  class scope {
   public:
    explicit scope(execution_context& c) : stream_(c.stream), guard_(c.stream) {}
    ~scope() noexcept(false) {
      if (std::uncaught_exceptions() == 0) stream_.synchronize();
    }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;

   private:
    const cuda_runtime::Stream& stream_;
    cuda_runtime::StreamGuard guard_;
  };
};

}  // namespace fastpp::backend
