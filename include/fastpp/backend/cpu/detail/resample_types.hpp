#pragma once
// The value types the image samplers take: how to read outside the image, how to interpolate and a sampling
// map (PadMode, SampleMode, CoordMap: backend/image_pixel.hpp, shared with the CUDA kernel), and a box of
// pixels. vision/ names them fastpp::PadMode, fastpp::SampleMode and fastpp::CoordMap.
// Internal to the cpu backend: include fastpp/backend/cpu/image_kernels.hpp instead.
#include <cstdint>

#include "../../image_pixel.hpp"

namespace fastpp::backend {

// A rectangle of an image in pixels; it may reach outside the image (then it is padded).
struct PixelBox {
  std::int64_t left = 0, top = 0, width = 0, height = 0;
};

}  // namespace fastpp::backend
