#pragma once
// The image kernels of fastpp::cuda (src/cuda/augment.cu), callable from plain C++. The batch
// augmentation's single pass: for each image of an NHWC RGB batch in device memory, one sample per output
// pixel through the image's composed sampling map (bilinear or nearest, grid_sample's padding,
// align_corners=True), the lighting in logit space and Normalize's per-channel affine fused into the same
// pass. The per-pixel math is backend/image_pixel.hpp's, which the cpu's passes run too
// (vision/augment.hpp: AffineCoordTfm, LightingTfm, Normalize; run_augment applies a whole AugmentBatch).
// The calls are queued on the calling thread's current stream (backend/cuda/stream.hpp) and return without
// waiting for the kernels.
#if !defined(FASTPP_WITH_CUDA)
#error "fastpp/backend/cuda/image.hpp declares kernels of fastpp::cuda: configure with -DFASTPP_CUDA=ON, link fastpp::cuda"
#endif
#include <cstdint>

#include "../augment_batch.hpp"

namespace fastpp::cuda_kernels {

// out[n, out_h, out_w, 3] = the augmentation `p` (its maps, lighting and affine, all on the host: they
// travel as kernel arguments) of in[n, in_h, in_w, 3], float pixels in [0, 1] or uint8 pixels (divided by
// 255 as they are read, IntToFloat's division). in and out are device memory and must not overlap.
// Matches the cpu's passes within float rounding (the lighting's exp and log are the device's; the cpu's
// are vectorised approximations within 1e-6); a nearest sample without lighting or affine is the cpu's
// pixel exactly, except at an exact tie between two pixels, where an ulp of the map decides.
void augment_batch(const float* in, const backend::AugmentBatch& p, float* out);
void augment_batch(const std::uint8_t* in, const backend::AugmentBatch& p, float* out);

}  // namespace fastpp::cuda_kernels
