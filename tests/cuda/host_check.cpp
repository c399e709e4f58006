// The checks around CUDA, cuBLAS and cuDNN calls (src/cuda/check.hpp), run with or without a GPU: each call
// below fails everywhere (a device number no machine has, a null cuBLAS handle, a null cuDNN descriptor), so
// the error must name the call as written, this file and the line. cuDNN's descriptors need no GPU.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "cuda/check.hpp"
#include "cuda/tf32.hpp"

namespace {
std::string failure_of(void (*f)()) {
  try {
    f();
  } catch (const fastpp::Error& e) {
    return e.what();
  }
  return "no error";
}
int bad_device_line = 0;
int null_handle_line = 0;
int null_descriptor_line = 0;
}  // namespace

TEST_CASE("a failed CUDA call names the call, file and line", "[cuda_host]") {
  const std::string what = failure_of([] {
    bad_device_line = __LINE__ + 1;
    FASTPP_CUDA_CHECK(cudaSetDevice(1 << 20));
  });
  INFO(what);
  CHECK_THAT(what, Catch::StartsWith("CUDA call cudaSetDevice(1 << 20) failed at "));
  CHECK_THAT(what, Catch::Contains("host_check.cpp:" + std::to_string(bad_device_line) + ": cudaError"));
  (void)cudaGetLastError();  // with a GPU, clear the error so later tests start clean
}

TEST_CASE("a failed cuBLAS call names the call, file and line", "[cuda_host]") {
  const std::string what = failure_of([] {
    null_handle_line = __LINE__ + 1;
    FASTPP_CUBLAS_CHECK(cublasSetStream(nullptr, nullptr));
  });
  INFO(what);
  CHECK_THAT(what, Catch::StartsWith("cuBLAS call cublasSetStream(nullptr, nullptr) failed at "));
  CHECK_THAT(what, Catch::Contains("host_check.cpp:" + std::to_string(null_handle_line) +
                                   ": CUBLAS_STATUS_NOT_INITIALIZED"));
}

TEST_CASE("a failed cuDNN call names the call, file, line and status", "[cuda_host]") {
  const std::string what = failure_of([] {
    null_descriptor_line = __LINE__ + 1;
    FASTPP_CUDNN_CHECK(cudnnSetTensor4dDescriptor(nullptr, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 1, 2, 3, 4));
  });
  INFO(what);
  CHECK_THAT(what, Catch::StartsWith("cuDNN call cudnnSetTensor4dDescriptor(nullptr, CUDNN_TENSOR_NHWC, "
                                     "CUDNN_DATA_FLOAT, 1, 2, 3, 4) failed at "));
  CHECK_THAT(what, Catch::Contains("host_check.cpp:" + std::to_string(null_descriptor_line) +
                                   ": CUDNN_STATUS_BAD_PARAM"));
}

TEST_CASE("a successful call passes quietly", "[cuda_host]") {
  CHECK_NOTHROW(FASTPP_CUDA_CHECK(cudaSuccess));
  CHECK_NOTHROW(FASTPP_CUBLAS_CHECK(CUBLAS_STATUS_SUCCESS));
  CHECK_NOTHROW(FASTPP_CUDNN_CHECK(CUDNN_STATUS_SUCCESS));
  // a real cuDNN call that succeeds without a GPU
  cudnnTensorDescriptor_t desc = nullptr;
  REQUIRE_NOTHROW(FASTPP_CUDNN_CHECK(cudnnCreateTensorDescriptor(&desc)));
  CHECK_NOTHROW(FASTPP_CUDNN_CHECK(cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 1, 2, 3, 4)));
  CHECK_NOTHROW(FASTPP_CUDNN_CHECK(cudnnDestroyTensorDescriptor(desc)));
}

// src/cuda/tf32.hpp: PyTorch's defaults (matrix products in float, convolutions with TF32), both changed by
// FASTPP_CUDA_TF32, read at each call.
TEST_CASE("TF32 follows PyTorch's defaults and FASTPP_CUDA_TF32", "[cuda_host]") {
  const char* before = std::getenv("FASTPP_CUDA_TF32");
  const std::string saved = before ? before : "";
  ::unsetenv("FASTPP_CUDA_TF32");
  CHECK_FALSE(fastpp::cuda_runtime::matmul_tf32());
  CHECK(fastpp::cuda_runtime::conv_tf32());
  ::setenv("FASTPP_CUDA_TF32", "1", 1);
  CHECK(fastpp::cuda_runtime::matmul_tf32());
  CHECK(fastpp::cuda_runtime::conv_tf32());
  ::setenv("FASTPP_CUDA_TF32", "off", 1);
  CHECK_FALSE(fastpp::cuda_runtime::matmul_tf32());
  CHECK_FALSE(fastpp::cuda_runtime::conv_tf32());
  if (before) {
    ::setenv("FASTPP_CUDA_TF32", saved.c_str(), 1);
  } else {
    ::unsetenv("FASTPP_CUDA_TF32");
  }
}
