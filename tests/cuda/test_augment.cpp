// Runs on a GPU machine only. The batch augmentation's fused kernel (src/cuda/augment.cu, declared in
// backend/cuda/image.hpp) against the cpu's batch transforms (vision/augment.hpp: AffineCoordTfm, then
// LightingTfm, then Normalize, each its own call) on the same fresh random batch and the same seeds, the
// kernel taking augment_params' parameters (the transforms' own draws, from the same per-image streams).
// Sizes with and without a random resized crop and a resize, batches past one launch's 48 images and past
// one grid of threads, zeros / border / reflection padding, bilinear and nearest, with and without the
// lighting and Normalize, float and uint8 inputs. The GPU's output is poisoned with NaN before each run, so a
// pixel it never writes fails. Tolerances: check_pixels.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <fastpp/backend/cuda/image.hpp>
#include <fastpp/core.hpp>
#include <fastpp/vision/augment.hpp>
#include <limits>
#include <vector>

#include "../support/augment_batch.hpp"

using namespace fastpp;

namespace aug_test {

struct Case {
  std::int64_t n, h, w;
  AugOptions o;
  bool lighting, normalize, uint8;
  Split split;
};

inline std::vector<float> to_host(const Tensor<float, cuda>& t) {
  const auto h = t.to<cpu>();
  return std::vector<float>(h.data(), h.data() + h.numel());
}

// Within 1e-3 of a half-integer: where nearest sampling rounds, so where an ulp of the coordinate may pick
// the other pixel (reflection and clipping keep a coordinate's distance to the half-integers).
inline bool near_tie(float v) {
  const double f = static_cast<double>(v) - std::floor(static_cast<double>(v));
  return std::abs(f - 0.5) < 1e-3;
}

// The GPU's pixels against the cpu's, three channels at a time. Bilinear: within 1e-5 relative (floor: that
// times the batch's largest value), plus what a few ulps of the sample point's coordinates may move a
// value by (the host build may fuse the map's multiply-adds, the device does not: an ulp of a coordinate of
// 460 pixels is 3e-5 pixel, times the image's steepest slope). Nearest: exactly (within 1e-5 after the
// lighting or Normalize, whose exp and log differ by rounding), a pixel whose sample point is near a tie
// excepted, and at most 1 in 1000 of those.
inline void check_pixels(const std::vector<float>& gpu, const std::vector<float>& cpu, const AugmentBatch& p) {
  REQUIRE(gpu.size() == cpu.size());
  double scale = 0;
  for (float c : cpu) scale = std::max(scale, std::abs(static_cast<double>(c)));
  const bool nearest = p.mode == SampleMode::nearest, exact = nearest && !p.has_lighting() && !p.normalize;
  const double tol = exact ? 0.0 : 1e-5;
  // a few ulps of the largest coordinate, times the steepest slope of a value in pixels: the input's range
  // (the output's largest value, twice) times the lighting's slope, taken as 20 (for max_lighting 0.5 it is
  // steeper only for values within about 1e-3 of 0 or 1 under a contrast below 1)
  const double coord_ulps = 4 * std::ldexp(1.0, -23) * static_cast<double>(std::max(p.in_h, p.in_w));
  const double slack = nearest ? 0.0 : coord_ulps * 2 * scale * (p.has_lighting() ? 20.0 : 1.0);
  std::size_t ties = 0, bad = 0, first = 0, beyond_tol = 0;
  for (std::size_t k = 0; k < cpu.size(); k += 3) {
    bool within = true, strict = true;
    for (int ch = 0; ch < 3; ++ch) {
      const double c = cpu[k + ch], g = gpu[k + ch], d = std::abs(g - c);
      strict = strict && d <= tol * (std::abs(c) + scale);  // false for NaN
      within = within && d <= tol * (std::abs(c) + scale) + slack;
    }
    beyond_tol += strict ? 0 : 1;
    if (within) continue;
    const std::int64_t pixel = static_cast<std::int64_t>(k / 3), per = p.out_h * p.out_w;
    const std::int64_t img = pixel / per, row = (pixel % per) / p.out_w, col = pixel % p.out_w;
    float x = 0, y = 0;
    backend::coord_map_apply(p.maps[static_cast<std::size_t>(img)], static_cast<float>(col),
                             static_cast<float>(row), x, y);
    if (nearest && std::isfinite(gpu[k]) && (near_tie(x) || near_tie(y))) {
      ++ties;
    } else {
      first = bad++ == 0 ? k : first;
    }
  }
  INFO(bad << " of " << cpu.size() / 3 << " pixels differ; first value at " << first << ": gpu "
            << (bad ? gpu[first] : 0.0f) << ", cpu " << (bad ? cpu[first] : 0.0f) << "; " << ties
            << " nearest samples at ties; " << beyond_tol << " pixels beyond " << tol << " relative");
  CHECK(bad == 0);
  CHECK(ties * 1000 <= cpu.size() / 3);
}

inline void run(const Case& c, std::uint64_t seed) {
  INFO("n " << c.n << ", input " << c.h << " x " << c.w << ", size " << c.o.size.h << " x " << c.o.size.w
            << ", min_scale " << c.o.min_scale << ", " << to_string(c.o.mode) << ", pad " << to_string(c.o.pad_mode)
            << ", lighting " << c.lighting << ", normalize " << c.normalize << ", uint8 " << c.uint8 << ", split "
            << (c.split == Split::train ? "train" : "valid"));
  test::RandomBatch b = test::random_batch(c.n, c.h, c.w, c.split, seed, 3, 7);
  const Tensor<std::uint8_t>& u8 = b.u8;
  const Tensor<float>& floats = b.floats;
  BatchContext& ctx = b.ctx;  // the transforms take it by reference
  const auto [affine, lighting] = aug_transforms(c.o);
  const Normalize norm = Normalize::from_stats(imagenet_stats);

  // the cpu: the transforms one after the other, as the loader calls them
  Tensor<float> want = c.uint8 ? affine.from_u8(u8, ctx) : affine(floats, ctx);
  if (c.lighting) want = lighting(want, ctx);
  if (c.normalize) want = norm(want, ctx);

  const AugmentBatch p =
      augment_params(affine, c.lighting ? &lighting : nullptr, c.normalize ? &norm : nullptr, c.n, c.h, c.w, ctx);
  REQUIRE(p.has_lighting() == (c.lighting && c.split == Split::train && c.o.max_lighting * c.o.mult > 0));
  {  // the parameters hold the transforms' draws: the cpu's passes of them are the transforms' calls, bit for bit
    const Tensor<float> again = run_augment(floats, p);
    REQUIRE(again.shape() == want.shape());
    std::size_t differ = 0;
    for (std::int64_t k = 0; k < want.numel(); ++k) differ += again.data()[k] == want.data()[k] ? 0 : 1;
    CHECK(differ == 0);
  }

  auto out = Tensor<float>::full({p.n, p.out_h, p.out_w, 3}, std::numeric_limits<float>::quiet_NaN()).to<cuda>();
  if (c.uint8) {
    const auto in = u8.to<cuda>();
    cuda_kernels::augment_batch(in.data(), p, out.data());
  } else {
    const auto in = floats.to<cuda>();
    cuda_kernels::augment_batch(in.data(), p, out.data());
  }
  const std::vector<float> gpu = to_host(out);
  const std::vector<float> cpu(want.data(), want.data() + want.numel());
  check_pixels(gpu, cpu, p);
}

}  // namespace aug_test

TEST_CASE("cuda batch augmentation matches the cpu's batch transforms", "[cuda]") {
  struct Shape3 {
    std::int64_t n, h, w;
    SizeHW size;
    double min_scale;
  };
  // one image; an odd resize; past one launch (48 images); no resize; a random resized crop; one row
  const Shape3 shapes[] = {{1, 9, 13, SizeHW{7, 5}, 1.0}, {5, 37, 23, SizeHW{31, 29}, 1.0},
                           {50, 20, 30, SizeHW{16, 16}, 1.0}, {4, 64, 48, SizeHW{}, 1.0},
                           {6, 61, 47, SizeHW{33, 33}, 0.4}, {3, 1, 40, SizeHW{1, 17}, 1.0}};
  std::uint64_t seed = 1;
  for (const auto& s : shapes)
    for (SampleMode mode : {SampleMode::bilinear, SampleMode::nearest})
      for (PadMode pad : {PadMode::zeros, PadMode::border, PadMode::reflection})
        for (int extras = 0; extras < 4; ++extras) {
          const bool lighting = (extras & 1) != 0, normalize = (extras & 2) != 0;
          const AugOptions o = test::strong_aug(s.size, s.min_scale, mode, pad);
          aug_test::run({s.n, s.h, s.w, o, lighting, normalize, false, Split::train}, seed++);
          aug_test::run({s.n, s.h, s.w, o, lighting, normalize, true, Split::train}, seed++);
        }
}

TEST_CASE("cuda batch augmentation: validation batches, fastai's defaults, and more pixels than one grid", "[cuda]") {
  std::uint64_t seed = 1000;
  for (PadMode pad : {PadMode::zeros, PadMode::border, PadMode::reflection}) {
    AugOptions o;  // fastai's defaults
    o.size = SizeHW{24, 40};
    o.pad_mode = pad;
    aug_test::run({7, 30, 50, o, true, true, false, Split::train}, seed++);
    aug_test::run({7, 30, 50, o, true, true, false, Split::valid}, seed++);  // only the resize; no lighting
    o.mode = SampleMode::nearest;
    aug_test::run({7, 30, 50, o, false, false, true, Split::valid}, seed++);
  }
  // 8 images of 400 x 400 outputs: 1.28 million pixels, more threads than the grid (32 blocks of 256 a
  // multiprocessor), so the grid-stride loop goes round
  AugOptions big = test::strong_aug(SizeHW{400, 400}, 0.75, SampleMode::bilinear, PadMode::reflection);
  aug_test::run({8, 460, 460, big, true, true, true, Split::train}, seed++);
  big.mode = SampleMode::nearest;
  aug_test::run({8, 460, 460, big, false, false, false, Split::train}, seed++);
}

TEST_CASE("cuda batch augmentation names inconsistent parameters", "[cuda]") {
  AugmentBatch p;
  p.n = 2;
  p.in_h = p.in_w = p.out_h = p.out_w = 4;
  p.maps.resize(1);  // one map for two images
  auto in = Tensor<float>::zeros({2, 4, 4, 3}).to<cuda>();
  auto out = Tensor<float>::zeros({2, 4, 4, 3}).to<cuda>();
  CHECK_THROWS_WITH(cuda_kernels::augment_batch(in.data(), p, out.data()), Catch::Contains("inconsistent parameters"));
}
