// Pooling over NHWC for fastpp::cuda (declared in backend/cuda/layers.hpp): max, average and adaptive
// windows with their adjoints, the cpu's contracts (backend/cpu/detail/pool.hpp) and window arithmetic
// (backend/pool_window.hpp, which the cpu runs too).
//
// A thread per output element for the forwards (the channels fastest, so a warp reads and writes runs of a
// row). The backwards gather instead of scattering: a thread per input element sums, over the outputs
// whose windows hold it (pool_window.hpp's cover ranges), the gradients that the cpu adds into it, in the
// cpu's order (outputs ascending, from 0, or from dx's value where the cpu adds into dx). No atomics, and
// each input written once; overlapping windows (stride < kernel, adaptive windows) need nothing special.
// argmax holds each output's input offset within its image, ((y * w) + x) * c + channel, as on the cpu.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <fastpp/backend/cuda/layers.hpp>
#include <fastpp/backend/pool_window.hpp>
#include <fastpp/core/error.hpp>
#include <limits>

#include "check.hpp"
#include "launch.hpp"
#include "stream.hpp"

namespace fastpp::cuda_kernels {

namespace {

using backend::adaptive_end;
using backend::adaptive_end_cover;
using backend::adaptive_first_cover;
using backend::adaptive_start;
using cuda_launch::divmod;
using cuda_launch::first_index;
using cuda_launch::grid_step;

// A sliding window's shape with its output size, as the kernels read it (PoolGeom's ho()/wo() are host code).
struct Window {
  i64 n, h, w, c, kh, kw, stride, pad, ho, wo;
};

Window window_of(const backend::PoolGeom& g, const char* what) {
  check(g.n >= 0 && g.h >= 1 && g.w >= 1 && g.c >= 0 && g.kh >= 1 && g.kw >= 1 && g.stride >= 1 && g.pad >= 0, what,
        ": bad pooling geometry (n ", g.n, ", h ", g.h, ", w ", g.w, ", c ", g.c, ", kernel ", g.kh, "x", g.kw,
        ", stride ", g.stride, ", pad ", g.pad, ")");
  check(g.h * g.w * g.c <= std::numeric_limits<std::int32_t>::max(), what, ": an image of ", g.h * g.w * g.c,
        " values is more than argmax's 32-bit offsets hold");
  return {g.n, g.h, g.w, g.c, g.kh, g.kw, g.stride, g.pad, g.ho(), g.wo()};
}

// The max and adaptive pools take T = float, half or bfloat16 (mixed_layer_kernels): values are compared and
// summed in float (double for the adaptive average) and stored as T, one rounding an output.
template <class T>
__global__ void maxpool_forward_kernel(const T* x, Window g, T* y, std::int32_t* argmax) {
  const i64 total = g.n * g.ho * g.wo * g.c;
  for (i64 o = first_index(); o < total; o += grid_step()) {
    i64 ch, ox, oy;
    const i64 img = divmod(divmod(divmod(o, g.c, ch), g.wo, ox), g.ho, oy);
    const T* xi = x + img * g.h * g.w * g.c;
    float best = -INFINITY;
    std::int32_t arg = -1;
    for (i64 i = 0; i < g.kh; ++i) {
      const i64 y0 = oy * g.stride - g.pad + i;
      if (y0 < 0 || y0 >= g.h) continue;
      for (i64 j = 0; j < g.kw; ++j) {
        const i64 x0 = ox * g.stride - g.pad + j;
        if (x0 < 0 || x0 >= g.w) continue;
        const auto at = static_cast<std::int32_t>((y0 * g.w + x0) * g.c + ch);
        const float v = static_cast<float>(xi[at]);
        if (backend::max_pool_takes(v, best, arg < 0)) {
          best = v;
          arg = at;
        }
      }
    }
    y[o] = T(best);
    argmax[o] = arg;
  }
}

// dx[img, yy, xx, ch] = the sum of dy over the outputs whose argmax is this element, outputs ascending.
template <class T>
__global__ void maxpool_backward_kernel(const T* dy, const std::int32_t* argmax, Window g, T* dx) {
  const i64 total = g.n * g.h * g.w * g.c;
  for (i64 i = first_index(); i < total; i += grid_step()) {
    i64 ch, xx, yy;
    const i64 img = divmod(divmod(divmod(i, g.c, ch), g.w, xx), g.h, yy);
    const auto at = static_cast<std::int32_t>((yy * g.w + xx) * g.c + ch);
    const i64 oy0 = backend::window_first_cover(yy, g.kh, g.stride, g.pad);
    const i64 oy1 = backend::window_end_cover(yy, g.stride, g.pad, g.ho);
    const i64 ox0 = backend::window_first_cover(xx, g.kw, g.stride, g.pad);
    const i64 ox1 = backend::window_end_cover(xx, g.stride, g.pad, g.wo);
    float acc = 0.0f;
    for (i64 oy = oy0; oy < oy1; ++oy)
      for (i64 ox = ox0; ox < ox1; ++ox) {
        const i64 o = ((img * g.ho + oy) * g.wo + ox) * g.c + ch;
        if (argmax[o] == at) acc += static_cast<float>(dy[o]);
      }
    dx[i] = T(acc);
  }
}

// Forward: out[o] = sum over the window's inputs of in * inv, in (i, j) order, padding counted in kh*kw.
// T as for the max pool: summed in float, rounded once.
template <class T>
__global__ void avgpool_forward_kernel(const T* in, Window g, float inv, T* out) {
  const i64 total = g.n * g.ho * g.wo * g.c;
  for (i64 o = first_index(); o < total; o += grid_step()) {
    i64 ch, ox, oy;
    const i64 img = divmod(divmod(divmod(o, g.c, ch), g.wo, ox), g.ho, oy);
    float acc = 0.0f;
    for (i64 i = 0; i < g.kh; ++i) {
      const i64 y0 = oy * g.stride - g.pad + i;
      if (y0 < 0 || y0 >= g.h) continue;
      for (i64 j = 0; j < g.kw; ++j) {
        const i64 x0 = ox * g.stride - g.pad + j;
        if (x0 < 0 || x0 >= g.w) continue;
        acc += static_cast<float>(in[((img * g.h + y0) * g.w + x0) * g.c + ch]) * inv;
      }
    }
    out[o] = T(acc);
  }
}
// Adjoint: out[i] = sum over the outputs whose windows hold input i of in[o] * inv, outputs ascending.
template <class T>
__global__ void avgpool_backward_kernel(const T* in, Window g, float inv, T* out) {
  const i64 total = g.n * g.h * g.w * g.c;
  for (i64 i = first_index(); i < total; i += grid_step()) {
    i64 ch, xx, yy;
    const i64 img = divmod(divmod(divmod(i, g.c, ch), g.w, xx), g.h, yy);
    const i64 oy0 = backend::window_first_cover(yy, g.kh, g.stride, g.pad);
    const i64 oy1 = backend::window_end_cover(yy, g.stride, g.pad, g.ho);
    const i64 ox0 = backend::window_first_cover(xx, g.kw, g.stride, g.pad);
    const i64 ox1 = backend::window_end_cover(xx, g.stride, g.pad, g.wo);
    float acc = 0.0f;
    for (i64 oy = oy0; oy < oy1; ++oy)
      for (i64 ox = ox0; ox < ox1; ++ox)
        acc += static_cast<float>(in[((img * g.ho + oy) * g.wo + ox) * g.c + ch]) * inv;
    out[i] = T(acc);
  }
}

struct Adaptive {
  i64 n, h, w, c, oh, ow, ystride, yoff;
};

template <class T>
__global__ void adaptive_forward_kernel(const T* x, Adaptive a, bool is_max, T* y, std::int32_t* argmax) {
  const i64 total = a.n * a.oh * a.ow * a.c;
  for (i64 k = first_index(); k < total; k += grid_step()) {
    i64 ch, ox, oy;
    const i64 o = divmod(k, a.c, ch), img = divmod(divmod(o, a.ow, ox), a.oh, oy);
    const i64 y0 = adaptive_start(oy, a.h, a.oh), y1 = adaptive_end(oy, a.h, a.oh);
    const i64 x0 = adaptive_start(ox, a.w, a.ow), x1 = adaptive_end(ox, a.w, a.ow);
    const T* xi = x + img * a.h * a.w * a.c;
    if (is_max) {
      float best = -INFINITY;
      i64 arg = -1;
      for (i64 yy = y0; yy < y1; ++yy)
        for (i64 xx = x0; xx < x1; ++xx) {
          const i64 at = (yy * a.w + xx) * a.c + ch;
          const float v = static_cast<float>(xi[at]);
          if (backend::max_pool_takes(v, best, arg < 0)) {
            best = v;
            arg = at;
          }
        }
      y[o * a.ystride + a.yoff + ch] = T(best);
      argmax[k] = static_cast<std::int32_t>(arg);
    } else {
      double acc = 0.0;  // in double, as the cpu
      for (i64 yy = y0; yy < y1; ++yy)
        for (i64 xx = x0; xx < x1; ++xx) acc += static_cast<float>(xi[(yy * a.w + xx) * a.c + ch]);
      y[o * a.ystride + a.yoff + ch] = T(static_cast<float>(acc / static_cast<double>((y1 - y0) * (x1 - x0))));
    }
  }
}

// Adds to dx[img, yy, xx, ch], from its value, what the cpu adds into it: over the outputs whose windows
// hold it, ascending, dy (max: where argmax names it) or dy / the window's size (average).
template <class T>
__global__ void adaptive_backward_kernel(const T* dy, Adaptive a, bool is_max, const std::int32_t* argmax, T* dx) {
  const i64 total = a.n * a.h * a.w * a.c;
  for (i64 i = first_index(); i < total; i += grid_step()) {
    i64 ch, xx, yy;
    const i64 img = divmod(divmod(divmod(i, a.c, ch), a.w, xx), a.h, yy);
    const i64 oy0 = adaptive_first_cover(yy, a.h, a.oh), oy1 = adaptive_end_cover(yy, a.h, a.oh);
    const i64 ox0 = adaptive_first_cover(xx, a.w, a.ow), ox1 = adaptive_end_cover(xx, a.w, a.ow);
    const auto at = static_cast<std::int32_t>((yy * a.w + xx) * a.c + ch);
    float acc = static_cast<float>(dx[i]);
    for (i64 oy = oy0; oy < oy1; ++oy)
      for (i64 ox = ox0; ox < ox1; ++ox) {
        const i64 o = (img * a.oh + oy) * a.ow + ox;
        const float g = static_cast<float>(dy[o * a.ystride + a.yoff + ch]);
        if (is_max) {
          if (argmax[o * a.c + ch] == at) acc += g;
        } else {
          const i64 count = (adaptive_end(oy, a.h, a.oh) - adaptive_start(oy, a.h, a.oh)) *
                            (adaptive_end(ox, a.w, a.ow) - adaptive_start(ox, a.w, a.ow));
          acc += g * (1.0f / static_cast<float>(count));
        }
      }
    dx[i] = T(acc);
  }
}

Adaptive adaptive_of(i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, i64 ystride, i64 yoff, const char* what) {
  check(n >= 0 && h >= 1 && w >= 1 && c >= 0 && oh >= 1 && ow >= 1, what, ": bad shape (n ", n, ", h ", h, ", w ",
        w, ", c ", c, ", output ", oh, "x", ow, ")");
  check(h * w * c <= std::numeric_limits<std::int32_t>::max(), what, ": an image of ", h * w * c,
        " values is more than argmax's 32-bit offsets hold");
  return {n, h, w, c, oh, ow, ystride, yoff};
}

template <class Kernel, class... Args>
void launch(Kernel kernel, i64 total, Args... args) {
  if (total <= 0) return;
  kernel<<<cuda_launch::blocks_for(total, cuda_launch::threads), cuda_launch::threads, 0, cuda_runtime::stream()>>>(
      args...);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

template <class T>
void maxpool2d_forward_impl(const T* x, const backend::PoolGeom& g, T* y, std::int32_t* argmax) {
  const Window k = window_of(g, "cuda maxpool2d_forward");
  launch(maxpool_forward_kernel<T>, k.n * k.ho * k.wo * k.c, x, k, y, argmax);
}

template <class T>
void maxpool2d_backward_impl(const T* dy, const std::int32_t* argmax, const backend::PoolGeom& g, T* dx) {
  const Window k = window_of(g, "cuda maxpool2d_backward");
  launch(maxpool_backward_kernel<T>, k.n * k.h * k.w * k.c, dy, argmax, k, dx);
}

template <class T>
void avgpool2d_impl(const T* in, const backend::PoolGeom& g, bool backward, T* out) {
  const Window k = window_of(g, "cuda avgpool2d");
  const float inv = 1.0f / static_cast<float>(g.kh * g.kw);  // count_include_pad, as the cpu
  if (backward) launch(avgpool_backward_kernel<T>, k.n * k.h * k.w * k.c, in, k, inv, out);
  else launch(avgpool_forward_kernel<T>, k.n * k.ho * k.wo * k.c, in, k, inv, out);
}

template <class T>
void adaptive_pool_forward_impl(const T* x, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max, T* y,
                                i64 ystride, i64 yoff, std::int32_t* argmax) {
  const Adaptive a = adaptive_of(n, h, w, c, oh, ow, ystride, yoff, "cuda adaptive_pool_forward");
  launch(adaptive_forward_kernel<T>, n * oh * ow * c, x, a, is_max, y, argmax);
}

template <class T>
void adaptive_pool_backward_impl(const T* dy, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max, i64 ystride,
                                 i64 yoff, const std::int32_t* argmax, T* dx) {
  const Adaptive a = adaptive_of(n, h, w, c, oh, ow, ystride, yoff, "cuda adaptive_pool_backward");
  launch(adaptive_backward_kernel<T>, n * h * w * c, dy, a, is_max, argmax, dx);
}

}  // namespace

void maxpool2d_forward(const float* x, const backend::PoolGeom& g, float* y, std::int32_t* argmax) {
  maxpool2d_forward_impl(x, g, y, argmax);
}

void maxpool2d_backward(const float* dy, const std::int32_t* argmax, const backend::PoolGeom& g, float* dx) {
  maxpool2d_backward_impl(dy, argmax, g, dx);
}

void avgpool2d(const float* in, const backend::PoolGeom& g, bool backward, float* out) {
  avgpool2d_impl(in, g, backward, out);
}

void adaptive_pool_forward(const float* x, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max, float* y,
                           i64 ystride, i64 yoff, std::int32_t* argmax) {
  adaptive_pool_forward_impl(x, n, h, w, c, oh, ow, is_max, y, ystride, yoff, argmax);
}

void adaptive_pool_backward(const float* dy, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max, i64 ystride,
                            i64 yoff, const std::int32_t* argmax, float* dx) {
  adaptive_pool_backward_impl(dy, n, h, w, c, oh, ow, is_max, ystride, yoff, argmax, dx);
}

namespace mixed {

template <class A>
void maxpool2d_forward(const A* x, const backend::PoolGeom& g, A* y, std::int32_t* argmax) {
  maxpool2d_forward_impl(x, g, y, argmax);
}
template <class A>
void maxpool2d_backward(const A* dy, const std::int32_t* argmax, const backend::PoolGeom& g, A* dx) {
  maxpool2d_backward_impl(dy, argmax, g, dx);
}
template <class A>
void avgpool2d(const A* in, const backend::PoolGeom& g, bool backward, A* out) {
  avgpool2d_impl(in, g, backward, out);
}
template <class A>
void adaptive_pool_forward(const A* x, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max, A* y, i64 ystride,
                           i64 yoff, std::int32_t* argmax) {
  adaptive_pool_forward_impl(x, n, h, w, c, oh, ow, is_max, y, ystride, yoff, argmax);
}
template <class A>
void adaptive_pool_backward(const A* dy, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max, i64 ystride,
                            i64 yoff, const std::int32_t* argmax, A* dx) {
  adaptive_pool_backward_impl(dy, n, h, w, c, oh, ow, is_max, ystride, yoff, argmax, dx);
}

#define FASTPP_POOL_INSTANTIATE(A)                                                                                 \
  template void maxpool2d_forward(const A*, const backend::PoolGeom&, A*, std::int32_t*);                          \
  template void maxpool2d_backward(const A*, const std::int32_t*, const backend::PoolGeom&, A*);                   \
  template void avgpool2d(const A*, const backend::PoolGeom&, bool, A*);                                           \
  template void adaptive_pool_forward(const A*, i64, i64, i64, i64, i64, i64, bool, A*, i64, i64, std::int32_t*);  \
  template void adaptive_pool_backward(const A*, i64, i64, i64, i64, i64, i64, bool, i64, i64, const std::int32_t*, \
                                       A*);
FASTPP_POOL_INSTANTIATE(half)
FASTPP_POOL_INSTANTIATE(bfloat16)
#undef FASTPP_POOL_INSTANTIATE

}  // namespace mixed

}  // namespace fastpp::cuda_kernels
