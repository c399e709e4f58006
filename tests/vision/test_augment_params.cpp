// A batch's augmentation as parameters (vision/augment.hpp: augment_params, run_augment), which the cpu's
// passes and the CUDA kernel (src/cuda/augment.cu) both consume: run_augment of the parameters is the
// transforms' calls one after the other, bit for bit (so the parameters hold the transforms' own draws);
// and the fused per-pixel function the kernel runs (backend/image_pixel.hpp: augment_pixel_rgb), run here on
// the host, gives the transforms' pixels: nearest samples exactly, bilinear with the lighting and Normalize
// within 1e-5 and a few ulps of the coordinates (the cpu's lighting is a vectorised approximation within
// 1e-6 of lighting_pixel, and its AVX2 bilinear loop computes the map and the blend with its own roundings);
// uint8 pixels read as the float ones divided by 255.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <fastpp/backend/image_pixel.hpp>
#include <fastpp/vision/augment.hpp>
#include <random>
#include <vector>

using namespace fastpp;

namespace aug_params_test {

struct Setup {
  Tensor<std::uint8_t> u8;
  Tensor<float> floats;
  BatchContext ctx;
};

inline Setup make(std::int64_t n, std::int64_t h, std::int64_t w, Split split, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<std::uint8_t> px(static_cast<std::size_t>(n * h * w * 3));
  for (auto& v : px) v = static_cast<std::uint8_t>(byte(gen));
  Setup s;
  s.u8 = Tensor<std::uint8_t>::from({n, h, w, 3}, px);
  s.floats = int_to_float(s.u8);
  s.ctx.split = split;
  s.ctx.seed = seed;
  s.ctx.epoch = 2;
  s.ctx.batch_index = 5;
  return s;
}

inline AugOptions strong(SampleMode mode, PadMode pad) {
  AugOptions o;
  o.size = SizeHW{21, 27};
  o.min_scale = 0.6;
  o.max_rotate = 40;
  o.min_zoom = 0.6;
  o.max_zoom = 1.3;
  o.max_warp = 0.4;
  o.max_lighting = 0.5;
  o.p_affine = 0.9;
  o.p_lighting = 0.9;
  o.mode = mode;
  o.pad_mode = pad;
  return o;
}

}  // namespace aug_params_test

TEST_CASE("augment_params + run_augment are the batch transforms' calls, bit for bit", "[vision][augment]") {
  for (Split split : {Split::train, Split::valid})
    for (SampleMode mode : {SampleMode::bilinear, SampleMode::nearest})
      for (PadMode pad : {PadMode::zeros, PadMode::border, PadMode::reflection})
        for (int extras = 0; extras < 4; ++extras) {
          const bool with_lighting = (extras & 1) != 0, with_norm = (extras & 2) != 0;
          INFO("split " << int(split) << ", " << to_string(mode) << ", " << to_string(pad) << ", lighting "
                        << with_lighting << ", normalize " << with_norm);
          auto s = aug_params_test::make(5, 30, 40, split, 11u + static_cast<std::uint32_t>(extras));
          const auto [affine, lighting] = aug_transforms(aug_params_test::strong(mode, pad));
          const Normalize norm = Normalize::from_stats(imagenet_stats);
          Tensor<float> want = affine(s.floats, s.ctx);
          if (with_lighting) want = lighting(want, s.ctx);
          if (with_norm) want = norm(want, s.ctx);
          const AugmentBatch p = augment_params(affine, with_lighting ? &lighting : nullptr,
                                                with_norm ? &norm : nullptr, 5, 30, 40, s.ctx);
          CHECK(p.maps.size() == 5);
          CHECK(p.has_lighting() == (with_lighting && split == Split::train));
          const Tensor<float> got = run_augment(s.floats, p);
          REQUIRE(got.shape() == want.shape());
          std::int64_t differ = 0;
          for (std::int64_t k = 0; k < want.numel(); ++k) differ += got.data()[k] == want.data()[k] ? 0 : 1;
          CHECK(differ == 0);
        }
}

TEST_CASE("augment_pixel_rgb (the CUDA kernel's pixel) gives the batch transforms' pixels", "[vision][augment]") {
  for (SampleMode mode : {SampleMode::bilinear, SampleMode::nearest})
    for (PadMode pad : {PadMode::zeros, PadMode::border, PadMode::reflection})
      for (int extras = 0; extras < 4; ++extras) {
        const bool with_lighting = (extras & 1) != 0, with_norm = (extras & 2) != 0;
        INFO(to_string(mode) << ", " << to_string(pad) << ", lighting " << with_lighting << ", normalize "
                             << with_norm);
        auto s = aug_params_test::make(4, 33, 26, Split::train, 40u + static_cast<std::uint32_t>(extras));
        const auto [affine, lighting] = aug_transforms(aug_params_test::strong(mode, pad));
        const Normalize norm = Normalize::from_stats(imagenet_stats);
        Tensor<float> want = affine(s.floats, s.ctx);
        if (with_lighting) want = lighting(want, s.ctx);
        if (with_norm) want = norm(want, s.ctx);
        const AugmentBatch p = augment_params(affine, with_lighting ? &lighting : nullptr,
                                              with_norm ? &norm : nullptr, 4, 33, 26, s.ctx);
        const bool exact = mode == SampleMode::nearest && !with_lighting && !with_norm;
        // bilinear: 1e-5 relative to the value and the batch's largest, plus a few ulps of the sample point's
        // coordinates times the steepest slope (the cpu's AVX2 loop computes the map with its own roundings)
        double largest = 0;
        for (std::int64_t k = 0; k < want.numel(); ++k) largest = std::max(largest, std::abs(double(want.data()[k])));
        const double slack = 4 * std::ldexp(1.0, -23) * 33 * 2 * largest * (with_lighting ? 20.0 : 1.0);
        std::int64_t bad = 0, u8_differ = 0;
        double worst = 0;
        const std::int64_t in_image = 33 * 26 * 3;
        for (std::int64_t i = 0; i < p.n; ++i)
          for (std::int64_t r = 0; r < p.out_h; ++r)
            for (std::int64_t c = 0; c < p.out_w; ++c) {
              float v[3], u[3];
              const ImageLighting* l = p.has_lighting() ? &p.lighting[static_cast<std::size_t>(i)] : nullptr;
              const float* scale = p.normalize ? p.scale : nullptr;
              backend::augment_pixel_rgb(s.floats.data() + i * in_image, 33, 26, p.maps[static_cast<std::size_t>(i)],
                                         float(c), float(r), p.pad, p.mode, l, scale, p.shift, v);
              backend::augment_pixel_rgb(s.u8.data() + i * in_image, 33, 26, p.maps[static_cast<std::size_t>(i)],
                                         float(c), float(r), p.pad, p.mode, l, scale, p.shift, u);
              const float* w = want.data() + ((i * p.out_h + r) * p.out_w + c) * 3;
              for (int k = 0; k < 3; ++k) {
                const double d = std::abs(double(v[k]) - double(w[k]));
                worst = std::max(worst, d);
                bad += (exact ? v[k] == w[k] : d <= 1e-5 * (std::abs(double(w[k])) + largest) + slack) ? 0 : 1;
                u8_differ += u[k] == v[k] ? 0 : 1;
              }
            }
        INFO("largest difference " << worst);
        CHECK(bad == 0);
        CHECK(u8_differ == 0);
      }
}
