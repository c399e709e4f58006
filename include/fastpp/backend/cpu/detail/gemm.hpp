#pragma once
// The one GEMM every layer product goes through (Eigen, ending in OpenBLAS sgemm where found).
// Internal to the cpu backend: include fastpp/backend/cpu/layer_kernels.hpp instead.
#include <Eigen/Core>
#include <algorithm>
#include <cstdint>

#include "../../../core/error.hpp"
#include "../../../core/thread_pool.hpp"
#include "../eigen.hpp"
#include "kernel.hpp"

namespace fastpp::backend::cpu_detail {

using StridedMap = Eigen::Map<RowMajorMatrix<float>, 0, Eigen::OuterStride<>>;
using CStridedMap = Eigen::Map<const RowMajorMatrix<float>, 0, Eigen::OuterStride<>>;

// C[m, n] (row stride ldc) = beta * C + op(A) * op(B) (not both transposed), with op(A) [m, k] and op(B) [k, n]; A and B are
// row-major with row strides lda and ldb, read transposed when ta / tb. Every product of the layers
// goes through this one function, so Eigen's product machinery is instantiated for three expression
// types (and, with EIGEN_USE_BLAS, each ends in one sgemm call).
FASTPP_KERNEL void gemm_serial(bool ta, bool tb, i64 m, i64 n, i64 k, const float* a, i64 lda, const float* b,
                               i64 ldb, float beta, float* c, i64 ldc) {
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

// The same product, its rows (or, when C is wide, its columns) split across fastpp's pool; each part is one
// single-threaded BLAS call. BLAS runs with one thread of its own (core/thread_pool.hpp), so a program never
// has two sets of compute threads: OpenBLAS's workers spin for a while after each call, and on a 2-core
// machine they took the cores from fastpp's pool running im2col and the element-wise kernels in between.
// Every element of C is the same k-ordered sum whatever the split, so results do not depend on threads.
FASTPP_KERNEL void gemm(bool ta, bool tb, i64 m, i64 n, i64 k, const float* a, i64 lda, const float* b, i64 ldb,
                        float beta, float* c, i64 ldc) {
  constexpr i64 align = 16, min_flops_per_part = i64{1} << 21;
  const i64 threads = std::min<i64>(get_num_threads(), std::max<i64>(1, 2 * m * n * k / min_flops_per_part));
  if (threads <= 1 || ThreadPool::in_worker()) return gemm_serial(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
  const bool by_rows = m >= n;
  const i64 extent = by_rows ? m : n;
  const i64 parts = std::min<i64>(threads, (extent + align - 1) / align);
  const i64 step = ((extent + parts - 1) / parts + align - 1) / align * align;
  parallel_for(0, (extent + step - 1) / step, 1, [&](i64 pb, i64 pe) {
    for (i64 p = pb; p < pe; ++p) {
      const i64 lo = p * step, len = std::min(extent, lo + step) - lo;
      if (by_rows)
        gemm_serial(ta, tb, len, n, k, ta ? a + lo : a + lo * lda, lda, b, ldb, beta, c + lo * ldc, ldc);
      else
        gemm_serial(ta, tb, m, len, k, a, lda, tb ? b + lo * ldb : b + lo, ldb, beta, c + lo, ldc);
    }
  });
}

}  // namespace fastpp::backend::cpu_detail
