#pragma once
// Linear layers: y = x W^T + b and its gradients.
// Internal to the cpu backend: include fastpp/backend/cpu/layer_kernels.hpp instead.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../../../core/thread_pool.hpp"
#include "../../geometry.hpp"
#include "kernel.hpp"
#include "gemm.hpp"

namespace fastpp::backend::cpu_detail {

// y[n, out] = x[n, in] w[out, in]^T + b
FASTPP_KERNEL void linear_forward(const float* x, const float* w, const float* b, i64 n, i64 in, i64 out, float* y) {
  gemm(false, true, n, out, in, x, in, w, in, 0.0f, y, out);
  if (b)
    for (i64 r = 0; r < n; ++r)
      for (i64 o = 0; o < out; ++o) y[r * out + o] += b[o];
}
FASTPP_KERNEL void linear_backward(const float* x, const float* w, const float* dy, i64 n, i64 in, i64 out, float* dw,
                            float* db, float* dx) {
  if (dw) gemm(true, false, out, in, n, dy, out, x, in, 1.0f, dw, in);
  if (db) add_column_sums(dy, n, out, db);
  if (dx) gemm(false, false, n, in, out, dy, out, w, in, 0.0f, dx, in);
}

}  // namespace fastpp::backend::cpu_detail
