#pragma once
// The cpu's image samplers: the loops over pixels that vision/'s transforms call. vision/ decides what
// to sample (crop boxes, random draws, sampling maps) and checks its arguments; these functions only run
// the loops, over raw pointers, and know nothing of tensors or transforms.
//
//   resample_pil_bilinear_rgb  crop + pad + PIL's antialiased bilinear resize of uint8 HWC (Resize,
//                              RandomResizedCrop), bit-exact with PIL              (detail/resample_pil.hpp)
//   grid_sample_rows_rgb       one resample of float HWC rows through a CoordMap (aug_transforms), as
//                              grid_sample with align_corners=True                 (detail/resample_grid.hpp)
//   sample_hwc, pad_coordinate, reflect_coordinate, coord_map_apply, lighting_pixel
//                              the per-pixel steps of the latter and of the lighting, FASTPP_HD, shared
//                              with the CUDA kernel (backend/image_pixel.hpp; src/cuda/augment.cu)
//   lighting_span, u8_to_unit_float_span, unit_float_to_u8_span, channel_affine_rgb_span
//                              the batch pipeline's per-value maps (LightingTfm, IntToFloat,
//                              float_to_uint8, Normalize) over one span  (detail/pixel_maps.hpp)
//
// The value types: PadMode, SampleMode and CoordMap in backend/image_pixel.hpp, PixelBox in
// detail/resample_types.hpp; vision/ gives them their public names (fastpp::PadMode, ...). The hot loops (the resize's two passes, the
// augmentation's bilinear sampling, the lighting) are compiled twice, for the binary's baseline and for
// AVX2 + FMA, and picked at run time from the CPU (detail/image_isa.hpp: image_use_avx2()).
#include "detail/pixel_maps.hpp"
#include "detail/resample_grid.hpp"
#include "detail/resample_pil.hpp"
#include "detail/resample_types.hpp"

namespace fastpp::backend::image_kernels {

using cpu_detail::channel_affine_rgb_span;
using cpu_detail::grid_sample_rows_rgb;
using cpu_detail::lighting_span;
using cpu_detail::resample_pil_bilinear_rgb;
using cpu_detail::u8_to_unit_float_span;
using cpu_detail::unit_float_to_u8_span;

}  // namespace fastpp::backend::image_kernels
