#pragma once
// The window arithmetic of pooling, shared by the cpu kernels (cpu/detail/pool.hpp) and the CUDA ones
// (src/cuda/pool.cu), so the cpu tests run what the GPU computes. Nothing but core/host_device.hpp and
// <cstdint> is included: nvcc compiles it for the device.
//
// A pooling's forward visits each output's window; the GPU's backward instead gathers, for each input
// element, over the outputs whose windows hold it (no atomics, the cpu's order of additions). The
// *_cover functions give those outputs: [first, end) along one axis.
#include <cstdint>

#include "../core/host_device.hpp"

namespace fastpp::backend {

// floor(a / b) for b > 0 and any a (C++'s / truncates toward zero).
FASTPP_HD_INLINE constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// PyTorch's adaptive pooling windows: output i of `out` covers inputs [floor(i*in/out), ceil((i+1)*in/out)).
FASTPP_HD_INLINE constexpr std::int64_t adaptive_start(std::int64_t i, std::int64_t in, std::int64_t out) {
  return (i * in) / out;
}
FASTPP_HD_INLINE constexpr std::int64_t adaptive_end(std::int64_t i, std::int64_t in, std::int64_t out) {
  return ((i + 1) * in + out - 1) / out;
}
// The outputs o whose adaptive window holds input p (0 <= p < in): start(o) <= p  <=>  o*in < (p+1)*out,
// and end(o) > p  <=>  (o+1)*in > p*out; so o in [floor(p*out/in), ceil((p+1)*out/in)), never empty, and
// within [0, out).
FASTPP_HD_INLINE constexpr std::int64_t adaptive_first_cover(std::int64_t p, std::int64_t in, std::int64_t out) {
  return (p * out) / in;
}
FASTPP_HD_INLINE constexpr std::int64_t adaptive_end_cover(std::int64_t p, std::int64_t in, std::int64_t out) {
  return ((p + 1) * out + in - 1) / in;
}

// A sliding window: output o covers inputs [o*stride - pad, o*stride - pad + k). The outputs (of `out`)
// whose window holds input p: o*stride <= p + pad and o*stride > p + pad - k, clipped to [0, out); empty
// (first >= end) where only padding windows would.
FASTPP_HD_INLINE constexpr std::int64_t window_first_cover(std::int64_t p, std::int64_t k, std::int64_t stride,
                                                           std::int64_t pad) {
  const std::int64_t first = floor_div(p + pad - k, stride) + 1;
  return first < 0 ? 0 : first;
}
FASTPP_HD_INLINE constexpr std::int64_t window_end_cover(std::int64_t p, std::int64_t stride, std::int64_t pad,
                                                         std::int64_t out) {
  const std::int64_t end = floor_div(p + pad, stride) + 1;
  return end < out ? end : out;
}

// Max pooling's test, the window visited in (i, j) order: value v replaces the best so far when it is
// larger, when nothing was taken yet (`none`), or when it is NaN: a NaN replaces any value before it and no
// number after it compares larger, as in PyTorch. Bitwise ors, so the cpu's channel loop vectorises.
FASTPP_HD_ALWAYS_INLINE bool max_pool_takes(float v, float best, bool none) {
  return (v > best) | none | (v != v);
}

}  // namespace fastpp::backend
