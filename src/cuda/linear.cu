// Linear layers on the GPU (declared in backend/cuda/layers.hpp), the cpu's contract
// (backend/cpu/detail/linear.hpp): row-major x[n, in], w[out, in], y[n, out];
//   forward   y = x w^T + b          (b may be null)
//   backward  dw += dy^T x, db += column sums of dy, dx = dy w   (each may be null)
// The products run in cuBLAS, which is column-major: a row-major [r, c] array is the column-major [c, r]
// array, its transpose, so each product is computed transposed (y^T = w x^T, dw^T = x^T dy, dx^T = w^T dy^T)
// on the same memory. The 64-bit cuBLAS API takes the sizes as they are. The bias and its gradient:
// bias.hpp. TF32: off unless FASTPP_CUDA_TF32 says so (tf32.hpp: PyTorch's matmul default).
//
// Half and bfloat16 activations (cuda_kernels::mixed, for mixed_layer_kernels): cublasGemmEx with A inputs and
// CUBLAS_COMPUTE_32F (float accumulation; cuBLAS runs 16-bit inputs on tensor cores in its default math). The
// float weights are rounded to A into scratch on each call (core/half.hpp's rounding, cast.cu). y and dx are A,
// rounded once by cuBLAS; the bias is then added in float and y rounded again (as PyTorch's autocast, which
// adds the bias in the output's type). dw is computed straight into the float gradient: A inputs, a float C and
// beta = 1, so it accumulates in float as the float path does. db: float column sums of the A dy (bias.hpp).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <fastpp/backend/cuda/layers.hpp>

#include <fastpp/backend/cuda/cast.hpp>

#include "bias.hpp"
#include "check.hpp"
#include "handles.hpp"
#include "lowp.hpp"
#include "stream.hpp"
#include "tf32.hpp"

namespace fastpp::cuda_kernels {

namespace {

// This thread's handle on the current stream, in the math mode tf32.hpp gives for matrix products.
cublasHandle_t gemm_handle() {
  const cublasHandle_t h = cuda_runtime::cublas_handle();
  FASTPP_CUBLAS_CHECK(cublasSetMathMode(h, cuda_runtime::matmul_tf32() ? CUBLAS_TF32_TENSOR_OP_MATH
                                                                       : CUBLAS_DEFAULT_MATH));
  return h;
}

i64 ld(i64 v) { return std::max<i64>(v, 1); }  // cuBLAS wants leading dimensions of at least 1

}  // namespace

void linear_forward(const float* x, const float* w, const float* b, i64 n, i64 in, i64 out, float* y) {
  if (n <= 0 || out <= 0) return;
  const cudaStream_t s = cuda_runtime::stream();
  if (in == 0) {  // an empty product: y = b, or 0
    FASTPP_CUDA_CHECK(cudaMemsetAsync(y, 0, static_cast<std::size_t>(n * out) * sizeof(float), s));
  } else {
    const float one = 1.0f, zero = 0.0f;
    // y^T[out, n] = w[out, in] x^T[in, n]: column-major w is w^T (so op T), column-major x is x^T (op N)
    FASTPP_CUBLAS_CHECK(cublasSgemm_64(gemm_handle(), CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, w, ld(in), x,
                                       ld(in), &zero, y, ld(out)));
  }
  if (b != nullptr) bias::add_rows(y, b, n, out);
}

void linear_backward(const float* x, const float* w, const float* dy, i64 n, i64 in, i64 out, float* dw, float* db,
                     float* dx) {
  const float one = 1.0f, zero = 0.0f;
  const cudaStream_t s = cuda_runtime::stream();
  // dw^T[in, out] += x^T[in, n] dy[n, out]: column-major x is x^T (op N), column-major dy is dy^T (op T)
  if (dw != nullptr && n > 0 && in > 0 && out > 0) {
    FASTPP_CUBLAS_CHECK(cublasSgemm_64(gemm_handle(), CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &one, x, ld(in), dy,
                                       ld(out), &one, dw, ld(in)));
  }
  if (db != nullptr) bias::add_column_sums(dy, n, out, db);
  // dx^T[in, n] = w^T[in, out] dy^T[out, n]: column-major w is w^T (op N), column-major dy is dy^T (op N)
  if (dx != nullptr && n > 0 && in > 0) {
    if (out == 0) {
      FASTPP_CUDA_CHECK(cudaMemsetAsync(dx, 0, static_cast<std::size_t>(n * in) * sizeof(float), s));
    } else {
      FASTPP_CUBLAS_CHECK(cublasSgemm_64(gemm_handle(), CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &one, w, ld(in), dy,
                                         ld(out), &zero, dx, ld(in)));
    }
  }
}

namespace mixed {

namespace {
// The handle on the current stream in cuBLAS's default math: 16-bit inputs with CUBLAS_COMPUTE_32F run on tensor
// cores there (the TF32 setting concerns float inputs only).
cublasHandle_t lowp_handle() {
  const cublasHandle_t h = cuda_runtime::cublas_handle();
  FASTPP_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
  return h;
}
}  // namespace

template <class A>
void linear_forward(const A* x, const float* w, const float* b, i64 n, i64 in, i64 out, A* y) {
  if (n <= 0 || out <= 0) return;
  const cudaStream_t s = cuda_runtime::stream();
  if (in == 0) {  // an empty product: y = b, or 0 (all-zero bits are +0 in half and bfloat16)
    FASTPP_CUDA_CHECK(cudaMemsetAsync(y, 0, static_cast<std::size_t>(n * out) * sizeof(A), s));
  } else {
    const CallScratch wa(static_cast<std::size_t>(out * in) * sizeof(A));
    from_float(w, out * in, wa.as<A>());
    const float one = 1.0f, zero = 0.0f;
    constexpr cudaDataType_t t = lowp_type<A>::blas;
    // y^T[out, n] = w[out, in] x^T[in, n], as the float path
    FASTPP_CUBLAS_CHECK(cublasGemmEx_64(lowp_handle(), CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, wa.as<A>(), t,
                                        ld(in), x, t, ld(in), &zero, y, t, ld(out), CUBLAS_COMPUTE_32F,
                                        CUBLAS_GEMM_DEFAULT));
  }
  if (b != nullptr) bias::add_rows(y, b, n, out);
}

template <class A>
void linear_backward(const A* x, const float* w, const A* dy, i64 n, i64 in, i64 out, float* dw, float* db, A* dx) {
  const float one = 1.0f, zero = 0.0f;
  const cudaStream_t s = cuda_runtime::stream();
  constexpr cudaDataType_t t = lowp_type<A>::blas;
  // dw^T[in, out] += x^T[in, n] dy[n, out], into the float dw (CUDA_R_32F C, beta = 1)
  if (dw != nullptr && n > 0 && in > 0 && out > 0) {
    FASTPP_CUBLAS_CHECK(cublasGemmEx_64(lowp_handle(), CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &one, x, t, ld(in), dy,
                                        t, ld(out), &one, dw, CUDA_R_32F, ld(in), CUBLAS_COMPUTE_32F,
                                        CUBLAS_GEMM_DEFAULT));
  }
  if (db != nullptr) bias::add_column_sums(dy, n, out, db);
  // dx^T[in, n] = w^T[in, out] dy^T[out, n]
  if (dx != nullptr && n > 0 && in > 0) {
    if (out == 0) {
      FASTPP_CUDA_CHECK(cudaMemsetAsync(dx, 0, static_cast<std::size_t>(n * in) * sizeof(A), s));
    } else {
      const CallScratch wa(static_cast<std::size_t>(out * in) * sizeof(A));
      from_float(w, out * in, wa.as<A>());
      FASTPP_CUBLAS_CHECK(cublasGemmEx_64(lowp_handle(), CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &one, wa.as<A>(), t,
                                          ld(in), dy, t, ld(out), &zero, dx, t, ld(in), CUBLAS_COMPUTE_32F,
                                          CUBLAS_GEMM_DEFAULT));
    }
  }
}

template void linear_forward(const half*, const float*, const float*, i64, i64, i64, half*);
template void linear_forward(const bfloat16*, const float*, const float*, i64, i64, i64, bfloat16*);
template void linear_backward(const half*, const float*, const half*, i64, i64, i64, float*, float*, half*);
template void linear_backward(const bfloat16*, const float*, const bfloat16*, i64, i64, i64, float*, float*,
                              bfloat16*);

}  // namespace mixed

}  // namespace fastpp::cuda_kernels
