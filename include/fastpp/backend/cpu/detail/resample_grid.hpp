#pragma once
// The loop of the batch augmentation's single resample: every output pixel read through a CoordMap. The
// per-pixel functions (grid_sample's padding and sampling in pixel coordinates, align_corners=True) are in
// backend/image_pixel.hpp, FASTPP_HD, shared with the CUDA kernel (src/cuda/augment.cu).
// Internal to the cpu backend: include fastpp/backend/cpu/image_kernels.hpp instead.
#include <cmath>
#include <cstdint>

#include "../../image_pixel.hpp"
#include "image_isa.hpp"
#include "resample_types.hpp"

namespace fastpp::backend {

namespace cpu_detail {

#if defined(FASTPP_IMAGE_AVX2)
// Bilinear grid sampling of 8 output pixels per step with AVX2 gathers: the map applied to 8 columns at
// once, and where all 8 points have their four corners inside the image (most of an augmented image: the
// crop and zoom keep it inside), the 12 corner values gathered and blended. Elsewhere (near an edge,
// padding, a non-finite map) the 8 pixels take sample_hwc one by one, so padding follows one code path.
// The blend is sample_hwc's formula; the result may differ from it in the last bit (FMA contraction).
FASTPP_IMAGE_AVX2_FN inline void grid_sample_row_bilinear_avx2(const float* in, int in_h, int in_w, float* dst,
                                                               int out_w, const CoordMap& map, PadMode pad,
                                                               std::int64_t r) {
  const float* p = map.warped;
  const float* a = map.unwarped;
  const __m256 row = _mm256_set1_ps(static_cast<float>(r));
  const __m256 lane = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  const __m256 xmax = _mm256_set1_ps(static_cast<float>(in_w - 1)), ymax = _mm256_set1_ps(static_cast<float>(in_h - 1));
  const __m256i stride = _mm256_set1_epi32(in_w * 3);
  int c = 0;
  for (; c + 8 <= out_w; c += 8) {
    const __m256 col = _mm256_add_ps(_mm256_set1_ps(static_cast<float>(c)), lane);
    const __m256 W = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(p[6]), col),
                                                 _mm256_mul_ps(_mm256_set1_ps(p[7]), row)), _mm256_set1_ps(p[8]));
    __m256 x, y;
    if (_mm256_movemask_ps(_mm256_cmp_ps(W, zero, _CMP_EQ_OQ)) == 0) {
      const __m256 inv = _mm256_div_ps(one, W);
      x = _mm256_mul_ps(_mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(p[0]), col),
                                                    _mm256_mul_ps(_mm256_set1_ps(p[1]), row)), _mm256_set1_ps(p[2])), inv);
      y = _mm256_mul_ps(_mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(p[3]), col),
                                                    _mm256_mul_ps(_mm256_set1_ps(p[4]), row)), _mm256_set1_ps(p[5])), inv);
    } else if (_mm256_movemask_ps(_mm256_cmp_ps(W, zero, _CMP_NEQ_UQ)) == 0) {
      x = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(a[0]), col), _mm256_mul_ps(_mm256_set1_ps(a[1]), row)),
                        _mm256_set1_ps(a[2]));
      y = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(a[3]), col), _mm256_mul_ps(_mm256_set1_ps(a[4]), row)),
                        _mm256_set1_ps(a[5]));
    } else {  // some lanes on the warp's singular line: the scalar path
      for (int k = 0; k < 8; ++k) {
        float sx = 0, sy = 0;
        coord_map_apply(map, static_cast<float>(c + k), static_cast<float>(r), sx, sy);
        sample_hwc<3>(in, in_h, in_w, sx, sy, pad, SampleMode::bilinear, dst + (c + k) * 3);
      }
      continue;
    }
    // all four corners inside: 0 <= x < w - 1 and 0 <= y < h - 1 (false for NaN)
    const __m256 inside = _mm256_and_ps(_mm256_and_ps(_mm256_cmp_ps(x, zero, _CMP_GE_OQ), _mm256_cmp_ps(x, xmax, _CMP_LT_OQ)),
                                        _mm256_and_ps(_mm256_cmp_ps(y, zero, _CMP_GE_OQ), _mm256_cmp_ps(y, ymax, _CMP_LT_OQ)));
    if (_mm256_movemask_ps(inside) != 0xFF) {
      alignas(32) float xs[8], ys[8];
      _mm256_store_ps(xs, x);
      _mm256_store_ps(ys, y);
      for (int k = 0; k < 8; ++k) sample_hwc<3>(in, in_h, in_w, xs[k], ys[k], pad, SampleMode::bilinear, dst + (c + k) * 3);
      continue;
    }
    const __m256 fx = _mm256_floor_ps(x), fy = _mm256_floor_ps(y);
    const __m256 tx = _mm256_sub_ps(x, fx), ty = _mm256_sub_ps(y, fy);
    const __m256 ux = _mm256_sub_ps(one, tx), uy = _mm256_sub_ps(one, ty);
    const __m256 w00 = _mm256_mul_ps(ux, uy), w01 = _mm256_mul_ps(tx, uy), w10 = _mm256_mul_ps(ux, ty),
                 w11 = _mm256_mul_ps(tx, ty);
    const __m256i i00 = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_cvttps_epi32(fy), stride),
                                         _mm256_mullo_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(3)));
    const __m256i i01 = _mm256_add_epi32(i00, _mm256_set1_epi32(3));
    const __m256i i10 = _mm256_add_epi32(i00, stride), i11 = _mm256_add_epi32(i10, _mm256_set1_epi32(3));
    alignas(32) float ch[3][8];
    for (int k = 0; k < 3; ++k) {
      const float* b = in + k;
      __m256 v = _mm256_mul_ps(w00, _mm256_i32gather_ps(b, i00, 4));
      v = _mm256_add_ps(v, _mm256_mul_ps(w01, _mm256_i32gather_ps(b, i01, 4)));
      v = _mm256_add_ps(v, _mm256_mul_ps(w10, _mm256_i32gather_ps(b, i10, 4)));
      v = _mm256_add_ps(v, _mm256_mul_ps(w11, _mm256_i32gather_ps(b, i11, 4)));
      _mm256_store_ps(ch[k], v);
    }
    float* o = dst + c * 3;
    for (int k = 0; k < 8; ++k) o[k * 3] = ch[0][k], o[k * 3 + 1] = ch[1][k], o[k * 3 + 2] = ch[2][k];
  }
  for (; c < out_w; ++c) {
    float sx = 0, sy = 0;
    coord_map_apply(map, static_cast<float>(c), static_cast<float>(r), sx, sy);
    sample_hwc<3>(in, in_h, in_w, sx, sy, pad, SampleMode::bilinear, dst + c * 3);
  }
}
#endif

// Resamples one HWC float RGB image through `map` (rows [row_begin, row_end) of the output).
inline void grid_sample_rows_rgb(const float* in, int in_h, int in_w, float* out, int out_w, const CoordMap& map,
                                 SampleMode mode, PadMode pad, std::int64_t row_begin, std::int64_t row_end) {
#if defined(FASTPP_IMAGE_AVX2)
  // int32 gather offsets: images up to 2^31 / 4 floats
  if (image_use_avx2() && mode == SampleMode::bilinear && static_cast<std::int64_t>(in_h) * in_w * 3 < (1ll << 29)) {
    for (std::int64_t r = row_begin; r < row_end; ++r)
      grid_sample_row_bilinear_avx2(in, in_h, in_w, out + r * out_w * 3, out_w, map, pad, r);
    return;
  }
#endif
  for (std::int64_t r = row_begin; r < row_end; ++r) {
    float* dst = out + r * out_w * 3;
    for (int c = 0; c < out_w; ++c) {
      float x = 0, y = 0;
      coord_map_apply(map, static_cast<float>(c), static_cast<float>(r), x, y);
      sample_hwc<3>(in, in_h, in_w, x, y, pad, mode, dst + c * 3);
    }
  }
}

}  // namespace cpu_detail
}  // namespace fastpp::backend
