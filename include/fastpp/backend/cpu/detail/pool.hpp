#pragma once
// Pooling over NHWC: max, average and adaptive windows, with their adjoints.
// Internal to the cpu backend: include fastpp/backend/cpu/layer_kernels.hpp instead.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../../../core/thread_pool.hpp"
#include "../../geometry.hpp"
#include "../../pool_window.hpp"
#include "kernel.hpp"
#include "layer_isa.hpp"

namespace fastpp::backend::cpu_detail {

// Max pooling of output rows [b, e) (image * ho + oy), the channels innermost so that they vectorise: each
// channel still visits its window in (i, j) order and takes a value on the same test as before, so the
// result is the same in the AVX2 and the baseline build (layer_isa.hpp) and for any chunking.
[[gnu::always_inline]] inline void maxpool_rows(const float* x, const PoolGeom* geom, float* y,
                                                std::int32_t* argmax, i64 b, i64 e) {
  const PoolGeom& g = *geom;
  const i64 ho = g.ho(), wo = g.wo();
  const auto c = static_cast<std::int32_t>(g.c);
  for (i64 r = b; r < e; ++r) {
    const i64 img = r / ho, oy = r % ho;
    const float* xi = x + img * g.h * g.w * g.c;
    for (i64 ox = 0; ox < wo; ++ox) {
      float* __restrict best = y + (r * wo + ox) * g.c;
      std::int32_t* __restrict arg = argmax + (r * wo + ox) * g.c;
      for (std::int32_t ch = 0; ch < c; ++ch) {
        best[ch] = -std::numeric_limits<float>::infinity();
        arg[ch] = -1;
      }
      for (i64 i = 0; i < g.kh; ++i) {
        const i64 y0 = oy * g.stride - g.pad + i;
        if (y0 < 0 || y0 >= g.h) continue;
        for (i64 j = 0; j < g.kw; ++j) {
          const i64 x0 = ox * g.stride - g.pad + j;
          if (x0 < 0 || x0 >= g.w) continue;
          const auto at = static_cast<std::int32_t>((y0 * g.w + x0) * g.c);
          const float* __restrict xv = xi + at;
          for (std::int32_t ch = 0; ch < c; ++ch) {
            const float v = xv[ch];
            const bool take = max_pool_takes(v, best[ch], arg[ch] < 0);  // NaN wins, as in PyTorch
            best[ch] = take ? v : best[ch];
            arg[ch] = take ? at + ch : arg[ch];
          }
        }
      }
    }
  }
}

// Max over each window (padding counts as -inf, as in PyTorch); argmax[o] = flat input index within
// the image, the first maximum in (i, j) order (a NaN replaces any value before it).
FASTPP_KERNEL void maxpool2d_forward(const float* x, const PoolGeom& g, float* y, std::int32_t* argmax) {
  parallel_for(0, g.n * g.ho(), 2, [&](i64 b, i64 e) { layer_loop<maxpool_rows>(x, &g, y, argmax, b, e); });
}
FASTPP_KERNEL void maxpool2d_backward(const float* dy, const std::int32_t* argmax, const PoolGeom& g, float* dx) {
  const i64 out_per_image = g.ho() * g.wo() * g.c, in_per_image = g.h * g.w * g.c;
  parallel_for(0, g.n, 1, [&](i64 b, i64 e) {
    for (i64 img = b; img < e; ++img) {
      float* d = dx + img * in_per_image;
      std::fill_n(d, in_per_image, 0.0f);
      for (i64 o = 0; o < out_per_image; ++o) {
        const i64 k = img * out_per_image + o;
        if (argmax[k] >= 0) d[argmax[k]] += dy[k];
      }
    }
  });
}

// Average pooling (or its adjoint) of images [b, e), the channels innermost; in the AVX2 build or the
// baseline one (layer_isa.hpp), which compute the same expressions in the same order.
[[gnu::always_inline]] inline void avgpool_images(const float* in, const PoolGeom* geom, bool backward, float* out,
                                                  i64 b, i64 e) {
  const PoolGeom& g = *geom;
  const i64 ho = g.ho(), wo = g.wo();
  const float inv = 1.0f / static_cast<float>(g.kh * g.kw);
  for (i64 img = b; img < e; ++img) {
    if (backward) std::fill_n(out + img * g.h * g.w * g.c, g.h * g.w * g.c, 0.0f);
    for (i64 oy = 0; oy < ho; ++oy)
      for (i64 ox = 0; ox < wo; ++ox) {
        const i64 o = ((img * ho + oy) * wo + ox) * g.c;
        if (!backward) std::fill_n(out + o, g.c, 0.0f);
        for (i64 i = 0; i < g.kh; ++i) {
          const i64 y0 = oy * g.stride - g.pad + i;
          if (y0 < 0 || y0 >= g.h) continue;
          for (i64 j = 0; j < g.kw; ++j) {
            const i64 x0 = ox * g.stride - g.pad + j;
            if (x0 < 0 || x0 >= g.w) continue;
            const i64 at = ((img * g.h + y0) * g.w + x0) * g.c;
            if (backward)
              for (i64 ch = 0; ch < g.c; ++ch) out[at + ch] += in[o + ch] * inv;
            else
              for (i64 ch = 0; ch < g.c; ++ch) out[o + ch] += in[at + ch] * inv;
          }
        }
      }
  }
}

// Average over each window, padding included in the count (PyTorch's count_include_pad=True default).
// `backward` false: y = avgpool(x). `backward` true: dx = the adjoint applied to dy (x is dy, y is dx).
FASTPP_KERNEL void avgpool2d(const float* in, const PoolGeom& g, bool backward, float* out) {
  parallel_for(0, g.n, 1, [&](i64 b, i64 e) { layer_loop<avgpool_images>(in, &g, backward, out, b, e); });
}

// adaptive_start / adaptive_end: PyTorch's adaptive pooling windows (backend/pool_window.hpp).

// Adaptive average (is_max false) or max pooling of x[n, h, w, c] to y[n, oh, ow, c] with y's channel
// stride `ystride` and offset `yoff`, so AdaptiveConcatPool2d can write both halves into one tensor.
FASTPP_KERNEL void adaptive_pool_forward(const float* x, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max,
                                  float* y, i64 ystride, i64 yoff, std::int32_t* argmax) {
  parallel_for(0, n * oh, 1, [&](i64 b, i64 e) {
    for (i64 r = b; r < e; ++r) {
      const i64 img = r / oh, oy = r % oh;
      const i64 y0 = adaptive_start(oy, h, oh), y1 = adaptive_end(oy, h, oh);
      for (i64 ox = 0; ox < ow; ++ox) {
        const i64 x0 = adaptive_start(ox, w, ow), x1 = adaptive_end(ox, w, ow);
        const i64 o = (r * ow + ox);
        for (i64 ch = 0; ch < c; ++ch) {
          double acc = 0;
          float best = -std::numeric_limits<float>::infinity();
          i64 arg = -1;
          for (i64 yy = y0; yy < y1; ++yy)
            for (i64 xx = x0; xx < x1; ++xx) {
              const i64 at = ((img * h + yy) * w + xx) * c + ch;
              if (is_max) {
                if (max_pool_takes(x[at], best, arg < 0)) {
                  best = x[at];
                  arg = at;
                }
              } else {
                acc += x[at];
              }
            }
          if (is_max) {
            y[o * ystride + yoff + ch] = best;
            argmax[o * c + ch] = static_cast<std::int32_t>(arg - img * h * w * c);
          } else {
            y[o * ystride + yoff + ch] = static_cast<float>(acc / static_cast<double>((y1 - y0) * (x1 - x0)));
          }
        }
      }
    }
  });
}
// Adds the adjoint of adaptive pooling into dx (which the caller zeroed).
FASTPP_KERNEL void adaptive_pool_backward(const float* dy, i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool is_max,
                                   i64 ystride, i64 yoff, const std::int32_t* argmax, float* dx) {
  parallel_for(0, n, 1, [&](i64 b, i64 e) {
    for (i64 img = b; img < e; ++img)
      for (i64 oy = 0; oy < oh; ++oy) {
        const i64 y0 = adaptive_start(oy, h, oh), y1 = adaptive_end(oy, h, oh);
        for (i64 ox = 0; ox < ow; ++ox) {
          const i64 x0 = adaptive_start(ox, w, ow), x1 = adaptive_end(ox, w, ow);
          const i64 o = (img * oh + oy) * ow + ox;
          const float inv = 1.0f / static_cast<float>((y1 - y0) * (x1 - x0));
          for (i64 ch = 0; ch < c; ++ch) {
            const float g = dy[o * ystride + yoff + ch];
            if (is_max) {
              dx[img * h * w * c + argmax[o * c + ch]] += g;
            } else {
              for (i64 yy = y0; yy < y1; ++yy)
                for (i64 xx = x0; xx < x1; ++xx) dx[((img * h + yy) * w + xx) * c + ch] += g * inv;
            }
          }
        }
      }
  });
}

}  // namespace fastpp::backend::cpu_detail
