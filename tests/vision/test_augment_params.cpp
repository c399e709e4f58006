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
#include <vector>

#include "../support/augment_batch.hpp"

using namespace fastpp;


TEST_CASE("augment_params + run_augment are the batch transforms' calls, bit for bit", "[vision][augment]") {
  for (Split split : {Split::train, Split::valid})
    for (SampleMode mode : {SampleMode::bilinear, SampleMode::nearest})
      for (PadMode pad : {PadMode::zeros, PadMode::border, PadMode::reflection})
        for (int extras = 0; extras < 4; ++extras) {
          const bool with_lighting = (extras & 1) != 0, with_norm = (extras & 2) != 0;
          INFO("split " << int(split) << ", " << to_string(mode) << ", " << to_string(pad) << ", lighting "
                        << with_lighting << ", normalize " << with_norm);
          auto s = test::random_batch(5, 30, 40, split, 11u + static_cast<std::uint32_t>(extras));
          const auto [affine, lighting] = aug_transforms(test::strong_aug(SizeHW{21, 27}, 0.6, mode, pad));
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
        auto s = test::random_batch(4, 33, 26, Split::train, 40u + static_cast<std::uint32_t>(extras));
        const auto [affine, lighting] = aug_transforms(test::strong_aug(SizeHW{21, 27}, 0.6, mode, pad));
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
