#pragma once
// The one GEMM every layer product goes through (Eigen, ending in OpenBLAS sgemm where found).
// Internal to the cpu backend: include fastpp/backend/cpu/layer_kernels.hpp instead.
#include <Eigen/Core>
#include <cstdint>

#include "../../../core/error.hpp"
#include "../eigen.hpp"
#include "kernel.hpp"

namespace fastpp::backend::cpu_detail {

using StridedMap = Eigen::Map<RowMajorMatrix<float>, 0, Eigen::OuterStride<>>;
using CStridedMap = Eigen::Map<const RowMajorMatrix<float>, 0, Eigen::OuterStride<>>;

// C[m, n] (row stride ldc) = beta * C + op(A) * op(B) (not both transposed), with op(A) [m, k] and op(B) [k, n]; A and B are
// row-major with row strides lda and ldb, read transposed when ta / tb. Every product of the layers
// goes through this one function, so Eigen's product machinery is instantiated for three expression
// types (and, with EIGEN_USE_BLAS, each ends in one sgemm call).
FASTPP_KERNEL void gemm(bool ta, bool tb, i64 m, i64 n, i64 k, const float* a, i64 lda, const float* b, i64 ldb,
                        float beta, float* c, i64 ldc) {
  StridedMap C(c, m, n, Eigen::OuterStride<>(ldc));
  if (beta == 0.0f) C.setZero();
  else if (beta != 1.0f) C *= beta;
  if (m == 0 || n == 0 || k == 0) return;
  if (!ta && !tb) {
    C.noalias() += CStridedMap(a, m, k, Eigen::OuterStride<>(lda)) * CStridedMap(b, k, n, Eigen::OuterStride<>(ldb));
  } else if (!ta && tb) {
    C.noalias() += CStridedMap(a, m, k, Eigen::OuterStride<>(lda)) * CStridedMap(b, n, k, Eigen::OuterStride<>(ldb)).transpose();
  } else if (ta && !tb) {
    C.noalias() += CStridedMap(a, k, m, Eigen::OuterStride<>(lda)).transpose() * CStridedMap(b, k, n, Eigen::OuterStride<>(ldb));
  } else {
    throw ValueError("kernels::gemm: both operands transposed is not used by any layer");
  }
}

}  // namespace fastpp::backend::cpu_detail
