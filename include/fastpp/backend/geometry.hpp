#pragma once
// The shapes of a convolution and a pooling window, as every device's kernels receive them. Plain
// structs of integers: the layers fill them, the kernels of any device read them.
#include <cstdint>

namespace fastpp::backend {

using i64 = std::int64_t;

// NHWC input [n, h, w, cin], OHWI weight [cout, kh, kw, cin / groups].
struct ConvGeom {
  i64 n, h, w, cin, cout, kh, kw, stride, pad, dil, groups;
  i64 ho() const { return (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1; }
  i64 wo() const { return (w + 2 * pad - dil * (kw - 1) - 1) / stride + 1; }
  i64 cg() const { return cin / groups; }    // input channels per group
  i64 cog() const { return cout / groups; }  // output channels per group
  i64 k() const { return kh * kw * cg(); }   // GEMM reduction length
  bool direct() const { return kh == 1 && kw == 1 && stride == 1 && pad == 0 && groups == 1; }
};

// NHWC input [n, h, w, c], a kh x kw window.
struct PoolGeom {
  i64 n, h, w, c, kh, kw, stride, pad;
  i64 ho() const { return (h + 2 * pad - kh) / stride + 1; }
  i64 wo() const { return (w + 2 * pad - kw) / stride + 1; }
};

}  // namespace fastpp::backend
