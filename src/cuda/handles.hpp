#pragma once
// Inside fastpp::cuda: the calling thread's cuBLAS and cuDNN handles for the current device, made on first use
// and set to the calling thread's current stream (stream.hpp) on every call, so a library call is queued after
// the kernels before it. Call these right before each library call, never keep the handle across a change of
// stream:
//   FASTPP_CUBLAS_CHECK(cublasSgemm_64(fastpp::cuda_runtime::cublas_handle(), ...));
// A handle belongs to one thread at a time (cuBLAS and cuDNN handles are not to be shared by threads that
// call concurrently) and one device (each is bound to the device current when it was made). A thread's
// handles go back to a pool when it ends, for the next thread to take, and are never destroyed: destroying
// them at exit can meet an unloaded driver (PyTorch keeps its handle pools for the same reason).
#include <cublas_v2.h>
#include <cudnn.h>

namespace fastpp::cuda_runtime {

cublasHandle_t cublas_handle();
cudnnHandle_t cudnn_handle();

}  // namespace fastpp::cuda_runtime
