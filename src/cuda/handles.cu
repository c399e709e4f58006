// The per-thread, per-device cuBLAS and cuDNN handles of handles.hpp.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <mutex>
#include <utility>
#include <vector>

#include "check.hpp"
#include "handles.hpp"
#include "stream.hpp"

namespace fastpp::cuda_runtime {

namespace {

// Handles no thread holds, by device. Never destroyed (see handles.hpp), so a thread ending after main may
// still return its handles.
template <class Handle>
class Pool {
 public:
  // A free handle for `device`, or null when none is free (the caller makes one).
  Handle take(int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->first == device) {
        const Handle h = it->second;
        free_.erase(it);
        return h;
      }
    }
    return nullptr;
  }
  void give(int device, Handle h) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.emplace_back(device, h);
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<int, Handle>> free_;
};

Pool<cublasHandle_t>& cublas_pool() {
  static auto* const p = new Pool<cublasHandle_t>();
  return *p;
}
Pool<cudnnHandle_t>& cudnn_pool() {
  static auto* const p = new Pool<cudnnHandle_t>();
  return *p;
}

// This thread's handles, one per device it used; back to the pools when the thread ends.
struct ThreadHandles {
  std::vector<std::pair<int, cublasHandle_t>> cublas;
  std::vector<std::pair<int, cudnnHandle_t>> cudnn;
  ThreadHandles() = default;
  ThreadHandles(const ThreadHandles&) = delete;
  ThreadHandles& operator=(const ThreadHandles&) = delete;
  ~ThreadHandles() {
    for (const auto& [device, h] : cublas) cublas_pool().give(device, h);
    for (const auto& [device, h] : cudnn) cudnn_pool().give(device, h);
  }
};
thread_local ThreadHandles mine;

int current_device() {
  int device = 0;
  FASTPP_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

}  // namespace

cublasHandle_t cublas_handle() {
  const int device = current_device();
  cublasHandle_t h = nullptr;
  for (const auto& [d, held] : mine.cublas)
    if (d == device) h = held;
  if (h == nullptr) {
    h = cublas_pool().take(device);
    if (h == nullptr) FASTPP_CUBLAS_CHECK(cublasCreate(&h));  // bound to the current device
    mine.cublas.emplace_back(device, h);
  }
  FASTPP_CUBLAS_CHECK(cublasSetStream(h, stream()));
  return h;
}

cudnnHandle_t cudnn_handle() {
  const int device = current_device();
  cudnnHandle_t h = nullptr;
  for (const auto& [d, held] : mine.cudnn)
    if (d == device) h = held;
  if (h == nullptr) {
    h = cudnn_pool().take(device);
    if (h == nullptr) FASTPP_CUDNN_CHECK(cudnnCreate(&h));  // bound to the current device
    mine.cudnn.emplace_back(device, h);
  }
  FASTPP_CUDNN_CHECK(cudnnSetStream(h, stream()));
  return h;
}

}  // namespace fastpp::cuda_runtime
