#pragma once
// Every CUDA runtime and cuBLAS call in src/cuda goes through these, so a failure becomes a fastpp::Error
// that names the call as written, the file and line, and the library's code and message: a CUDA error often
// surfaces calls after its cause (kernels run asynchronously), and the call's text is what finds it.
//   FASTPP_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
//   FASTPP_CUBLAS_CHECK(cublasSgemm(handle, ...));
// Macros, not std::source_location: g++ 12 and clang 14 builds must agree, and #call needs the preprocessor.
#include <cublas_v2.h>
#include <cuda_runtime.h>

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

}  // namespace fastpp::cuda_check

#define FASTPP_CUDA_CHECK(call) ::fastpp::cuda_check::cuda((call), #call, __FILE__, __LINE__)
#define FASTPP_CUBLAS_CHECK(call) ::fastpp::cuda_check::cublas((call), #call, __FILE__, __LINE__)
