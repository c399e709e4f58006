#pragma once
// Element-wise kernels of the parameter-free layers (ReLU, Dropout, the residual sum), fills, and the
// NHWC <-> NCHW reorder behind Flatten. Internal to the cpu backend.
#include <algorithm>
#include <cstdint>

#include "../../../core/rng.hpp"
#include "../../../core/thread_pool.hpp"
#include "kernel.hpp"
#include "layer_isa.hpp"

namespace fastpp::backend::cpu_detail {

// Elements per parallel_for chunk for memory-bound element loops: below this a second thread costs more
// than it saves.
inline constexpr i64 elementwise_grain = i64{1} << 15;

// The loops below run in an AVX2 build or the baseline one, whichever the CPU allows (layer_isa.hpp).
[[gnu::always_inline]] inline void relu_loop(const float* x, float* y, i64 b, i64 e) {
  for (i64 i = b; i < e; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
[[gnu::always_inline]] inline void relu_backward_loop(const float* y, const float* dy, float* dx, i64 b, i64 e) {
  for (i64 i = b; i < e; ++i) {
    const float g = dy[i];  // read whatever y says: a load under the condition kept SSE2's loop scalar (10x)
    dx[i] = y[i] > 0.0f ? g : 0.0f;
  }
}
[[gnu::always_inline]] inline void add_loop(float* a, const float* b, i64 s, i64 e) {
  for (i64 i = s; i < e; ++i) a[i] += b[i];
}
[[gnu::always_inline]] inline void multiply_loop(const float* a, const float* b, float* out, i64 s, i64 e) {
  for (i64 i = s; i < e; ++i) out[i] = a[i] * b[i];
}

// y = max(x, 0); y may equal x (in place).
FASTPP_KERNEL void relu_forward(const float* x, i64 n, float* y) {
  parallel_for(0, n, elementwise_grain, [&](i64 b, i64 e) { layer_loop<relu_loop>(x, y, b, e); });
}
// dx = dy where the forward output y was positive, else 0.
FASTPP_KERNEL void relu_backward(const float* y, const float* dy, i64 n, float* dx) {
  parallel_for(0, n, elementwise_grain, [&](i64 b, i64 e) { layer_loop<relu_backward_loop>(y, dy, dx, b, e); });
}
// a += b
FASTPP_KERNEL void add_inplace(float* a, const float* b, i64 n) {
  parallel_for(0, n, elementwise_grain, [&](i64 s, i64 e) { layer_loop<add_loop>(a, b, s, e); });
}
// out = a * b
FASTPP_KERNEL void multiply(const float* a, const float* b, i64 n, float* out) {
  parallel_for(0, n, elementwise_grain, [&](i64 s, i64 e) { layer_loop<multiply_loop>(a, b, out, s, e); });
}
FASTPP_KERNEL void fill(float* p, i64 n, float value) { std::fill_n(p, n, value); }

// Inverted dropout: mask[i] = 0 with probability p, else 1/(1-p); y = x * mask. Draws element i from
// the i-th number of `rng`'s stream (from its position), so a mask depends only on the stream, never on
// threads: each chunk starts its copy of the stream at its first element (Rng::discard) and draws in order.
FASTPP_KERNEL void dropout_forward(const float* x, i64 n, float p, Rng rng, float* y, float* mask) {
  const float scale = 1.0f / (1.0f - p);
  parallel_for(0, n, elementwise_grain, [&](i64 b, i64 e) {
    Rng r = rng;
    r.discard(static_cast<std::uint64_t>(b));
    for (i64 i = b; i < e; ++i) {
      mask[i] = r.uniform() < p ? 0.0f : scale;
      y[i] = x[i] * mask[i];
    }
  });
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

