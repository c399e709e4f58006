#pragma once
// Every CUDA runtime, cuBLAS and cuDNN call in src/cuda goes through these, so a failure becomes a fastpp::Error
// that names the call as written, the file and line, and the library's code and message: a CUDA error often
// surfaces calls after its cause (kernels run asynchronously), and the call's text is what finds it.
//   FASTPP_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
//   FASTPP_CUBLAS_CHECK(cublasSgemm(handle, ...));
//   FASTPP_CUDNN_CHECK(cudnnConvolutionForward(handle, ...));
// Macros, not std::source_location: g++ 12 and clang 14 builds must agree, and #call needs the preprocessor.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <fastpp/core/error.hpp>
#include <string>

namespace fastpp::cuda_check {

[[noreturn]] inline void fail(const char* library, const char* call, const char* file, int line, const char* code,
                              const char* message) {
  throw Error(std::string(library) + " call " + call + " failed at " + file + ":" + std::to_string(line) + ": " +
              code + " (" + message + ")");
}
inline void cuda(cudaError_t err, const char* call, const char* file, int line) {
  if (err != cudaSuccess) fail("CUDA", call, file, line, cudaGetErrorName(err), cudaGetErrorString(err));
}
inline void cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    fail("cuBLAS", call, file, line, cublasGetStatusName(status), cublasGetStatusString(status));
  }
}

// cuDNN has no separate name function: cudnnGetErrorString gives the status's name (CUDNN_STATUS_BAD_PARAM...);
// cuDNN 9's cudnnGetLastErrorString adds what the failed call itself reported, when it left a message.
inline void cudnn(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status != CUDNN_STATUS_SUCCESS) {
    std::string detail = "cuDNN status " + std::to_string(static_cast<int>(status));
#if CUDNN_MAJOR >= 9
    char last[512] = {};
    cudnnGetLastErrorString(last, sizeof last);
    if (last[0] != '\0') detail = last;
#endif
    fail("cuDNN", call, file, line, cudnnGetErrorString(status), detail.c_str());
  }
}

}  // namespace fastpp::cuda_check

#define FASTPP_CUDA_CHECK(call) ::fastpp::cuda_check::cuda((call), #call, __FILE__, __LINE__)
#define FASTPP_CUBLAS_CHECK(call) ::fastpp::cuda_check::cublas((call), #call, __FILE__, __LINE__)
#define FASTPP_CUDNN_CHECK(call) ::fastpp::cuda_check::cudnn((call), #call, __FILE__, __LINE__)
