#pragma once
// Element-wise kernels of the parameter-free layers (ReLU, Dropout, the residual sum), fills, and the
// NHWC <-> NCHW reorder behind Flatten. Internal to the cpu backend.
#include <algorithm>
#include <cstdint>

#include "../../../core/rng.hpp"
#include "../../../core/thread_pool.hpp"
#include "kernel.hpp"

namespace fastpp::backend::cpu_detail {

// Elements per parallel_for chunk for memory-bound element loops: below this a second thread costs more
// than it saves.
inline constexpr i64 elementwise_grain = i64{1} << 15;

// y = max(x, 0); y may equal x (in place).
FASTPP_KERNEL void relu_forward(const float* x, i64 n, float* y) {
  parallel_for(0, n, elementwise_grain, [&](i64 b, i64 e) {
    for (i64 i = b; i < e; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
  });
}
// dx = dy where the forward output y was positive, else 0.
FASTPP_KERNEL void relu_backward(const float* y, const float* dy, i64 n, float* dx) {
  parallel_for(0, n, elementwise_grain, [&](i64 b, i64 e) {
    for (i64 i = b; i < e; ++i) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
  });
}
// a += b
FASTPP_KERNEL void add_inplace(float* a, const float* b, i64 n) {
  parallel_for(0, n, elementwise_grain, [&](i64 s, i64 e) {
    for (i64 i = s; i < e; ++i) a[i] += b[i];
  });
}
// out = a * b
FASTPP_KERNEL void multiply(const float* a, const float* b, i64 n, float* out) {
  parallel_for(0, n, elementwise_grain, [&](i64 s, i64 e) {
    for (i64 i = s; i < e; ++i) out[i] = a[i] * b[i];
  });
}
FASTPP_KERNEL void fill(float* p, i64 n, float value) { std::fill_n(p, n, value); }

// Inverted dropout: mask[i] = 0 with probability p, else 1/(1-p); y = x * mask. Draws element i from
// the i-th number of `rng`'s stream in order, so a mask depends only on the stream, never on threads.
FASTPP_KERNEL void dropout_forward(const float* x, i64 n, float p, Rng rng, float* y, float* mask) {
  const float scale = 1.0f / (1.0f - p);
  for (i64 i = 0; i < n; ++i) {
    mask[i] = rng.uniform() < p ? 0.0f : scale;
    y[i] = x[i] * mask[i];
  }
}

// NHWC [n, h, w, c] -> PyTorch's flatten order [n, c*h*w] (c outermost), and back.
FASTPP_KERNEL void nhwc_to_nchw(const float* x, i64 n, i64 h, i64 w, i64 c, float* y) {
  for (i64 img = 0; img < n; ++img)
    for (i64 p = 0; p < h * w; ++p)
      for (i64 ch = 0; ch < c; ++ch) y[(img * c + ch) * h * w + p] = x[(img * h * w + p) * c + ch];
}
FASTPP_KERNEL void nchw_to_nhwc(const float* x, i64 n, i64 h, i64 w, i64 c, float* y) {
  for (i64 img = 0; img < n; ++img)
    for (i64 p = 0; p < h * w; ++p)
      for (i64 ch = 0; ch < c; ++ch) y[(img * h * w + p) * c + ch] = x[(img * c + ch) * h * w + p];
}

}  // namespace fastpp::backend::cpu_detail

