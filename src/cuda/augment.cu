// The batch augmentation of fastpp::cuda (declared in backend/cuda/image.hpp): one pass over the output
// batch, a thread per output pixel (its three channels), each reading its image through the image's
// composed sampling map with backend/image_pixel.hpp's augment_pixel_rgb, the function whose parts the
// cpu's passes run (coord_map_apply, sample_hwc, lighting_pixel, channel_affine).
//
// The per-image parameters (a CoordMap of 60 bytes and a lighting of 8) go to the kernel as its argument:
// no device allocation, no host-to-device copy to wait for. A launch takes up to `images_per_launch`
// images, which keeps the argument under the classic 4 KiB; a larger batch takes several launches. The
// argument is __grid_constant__: each thread reads its image's map where the argument lies (the constant
// bank), indexed by the image, instead of a copy of the whole argument in its local memory, which taking
// an address into a plain kernel argument would make.
#include <cuda_runtime.h>

#include <cstdint>
#include <fastpp/backend/cuda/image.hpp>
#include <fastpp/backend/image_pixel.hpp>
#include <fastpp/core/error.hpp>
#include <limits>

#include "check.hpp"
#include "launch.hpp"
#include "stream.hpp"

namespace fastpp::cuda_kernels {

namespace {

using cuda_launch::divmod;
using cuda_launch::first_index;
using cuda_launch::grid_step;

constexpr int images_per_launch = 48;

struct Chunk {
  backend::CoordMap maps[images_per_launch];
  backend::ImageLighting lighting[images_per_launch];
  float scale[3], shift[3];
  std::int64_t images;           // in this launch
  std::int64_t in_h, in_w, out_h, out_w;
  backend::PadMode pad;
  backend::SampleMode mode;
  bool has_lighting, normalize;
};
static_assert(sizeof(Chunk) + 3 * sizeof(void*) <= 4000, "the kernel's argument must stay under 4 KiB");

// A thread per output pixel of the chunk's images (grid-stride): in and out point at the chunk's first image.
template <class T>
__global__ void augment_kernel(const T* in, const __grid_constant__ Chunk ch, float* out) {
  const std::int64_t per_image = ch.out_h * ch.out_w;
  const std::int64_t total = ch.images * per_image;
  const std::int64_t in_image = ch.in_h * ch.in_w * 3;
  for (std::int64_t o = first_index(); o < total; o += grid_step()) {
    std::int64_t rest, col;
    const std::int64_t img = divmod(o, per_image, rest);
    const std::int64_t row = divmod(rest, ch.out_w, col);
    float v[3];
    backend::augment_pixel_rgb(in + img * in_image, static_cast<int>(ch.in_h), static_cast<int>(ch.in_w),
                               ch.maps[img], static_cast<float>(col), static_cast<float>(row), ch.pad, ch.mode,
                               ch.has_lighting ? &ch.lighting[img] : nullptr, ch.normalize ? ch.scale : nullptr,
                               ch.shift, v);
    float* dst = out + o * 3;
    dst[0] = v[0];
    dst[1] = v[1];
    dst[2] = v[2];
  }
}

template <class T>
void run(const T* in, const backend::AugmentBatch& p, float* out) {
  check(p.consistent(), "cuda augment_batch: inconsistent parameters (n ", p.n, ", input ", p.in_h, " x ", p.in_w,
        ", output ", p.out_h, " x ", p.out_w, ", ", p.maps.size(), " maps, ", p.lighting.size(), " lightings)");
  check(p.in_h <= std::numeric_limits<int>::max() && p.in_w <= std::numeric_limits<int>::max(),
        "cuda augment_batch: an input of ", p.in_h, " x ", p.in_w, " pixels is more than the sampler's int sides");
  check(in != nullptr && out != nullptr, "cuda augment_batch: null input or output");
  Chunk ch{};
  ch.in_h = p.in_h;
  ch.in_w = p.in_w;
  ch.out_h = p.out_h;
  ch.out_w = p.out_w;
  ch.pad = p.pad;
  ch.mode = p.mode;
  ch.has_lighting = p.has_lighting();
  ch.normalize = p.normalize;
  for (int c = 0; c < 3; ++c) {
    ch.scale[c] = p.scale[c];
    ch.shift[c] = p.shift[c];
  }
  const std::int64_t in_image = p.in_h * p.in_w * 3, out_image = p.out_h * p.out_w * 3;
  for (std::int64_t first = 0; first < p.n; first += images_per_launch) {
    ch.images = p.n - first < images_per_launch ? p.n - first : images_per_launch;
    for (std::int64_t i = 0; i < ch.images; ++i) {
      ch.maps[i] = p.maps[static_cast<std::size_t>(first + i)];
      ch.lighting[i] = ch.has_lighting ? p.lighting[static_cast<std::size_t>(first + i)] : backend::ImageLighting{};
    }
    const std::int64_t pixels = ch.images * p.out_h * p.out_w;
    augment_kernel<T><<<cuda_launch::blocks_for(pixels, cuda_launch::threads), cuda_launch::threads, 0,
                        cuda_runtime::stream()>>>(in + first * in_image, ch, out + first * out_image);
    FASTPP_CUDA_CHECK(cudaGetLastError());
  }
}

}  // namespace

void augment_batch(const float* in, const backend::AugmentBatch& p, float* out) { run(in, p, out); }
void augment_batch(const std::uint8_t* in, const backend::AugmentBatch& p, float* out) { run(in, p, out); }

}  // namespace fastpp::cuda_kernels
