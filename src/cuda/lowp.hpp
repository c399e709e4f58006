#pragma once
// Inside fastpp::cuda: what the half and bfloat16 entries (layers.hpp's cuda_kernels::mixed, linear.cu and
// conv.cu) share: the cuBLAS and cuDNN names of their storage types, and a block of device scratch held for
// one call (the weights rounded to the activations' type).
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstddef>
#include <fastpp/core/allocator.hpp>
#include <fastpp/core/half.hpp>

namespace fastpp::cuda_kernels {

template <class A>
struct lowp_type;
template <>
struct lowp_type<half> {
  static constexpr cudaDataType_t blas = CUDA_R_16F;
  static constexpr cudnnDataType_t dnn = CUDNN_DATA_HALF;
};
template <>
struct lowp_type<bfloat16> {
  static constexpr cudaDataType_t blas = CUDA_R_16BF;
  static constexpr cudnnDataType_t dnn = CUDNN_DATA_BFLOAT16;
};

// Device memory from the caching allocator for the calls queued while it lives: given back when it goes out of
// scope, after they are queued (the allocator's next user of the block queues after them on the same stream,
// as norm.cu's scratch).
class CallScratch {
 public:
  explicit CallScratch(std::size_t bytes) : p_(cuda_runtime::allocate(bytes > 0 ? bytes : 1)) {}
  ~CallScratch() { cuda_runtime::release(p_); }
  CallScratch(const CallScratch&) = delete;
  CallScratch& operator=(const CallScratch&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(p_);
  }

 private:
  void* p_;
};

}  // namespace fastpp::cuda_kernels
