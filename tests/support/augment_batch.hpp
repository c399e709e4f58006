#pragma once
// What the batch augmentation's tests share (tests/vision/test_augment_params.cpp, tests/cuda/test_augment.cpp,
// tests/data and tests/cuda test_device_batch.cpp): a random uint8 batch with its float copy and a batch
// context, and aug_transforms' options turned up so the sampling maps reach outside the image (every padding
// mode is exercised) and the lighting is strong.
#include <cstdint>
#include <random>
#include <vector>

#include <fastpp/vision/augment.hpp>

namespace fastpp::test {

struct RandomBatch {
  Tensor<std::uint8_t> u8;  // [n, h, w, 3], uniform bytes
  Tensor<float> floats;     // IntToFloat of u8
  BatchContext ctx;         // split and seed as given, the rng a stream of the seed
};

inline RandomBatch random_batch(std::int64_t n, std::int64_t h, std::int64_t w, Split split, std::uint64_t seed,
                                std::uint64_t epoch = 2, std::int64_t batch_index = 5) {
  std::mt19937 gen(static_cast<std::uint32_t>(seed));
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<std::uint8_t> px(static_cast<std::size_t>(n * h * w * 3));
  for (auto& v : px) v = static_cast<std::uint8_t>(byte(gen));
  RandomBatch b;
  b.u8 = Tensor<std::uint8_t>::from({n, h, w, 3}, px);
  b.floats = int_to_float(b.u8);
  b.ctx.split = split;
  b.ctx.seed = seed;
  b.ctx.epoch = epoch;
  b.ctx.batch_index = batch_index;
  b.ctx.rng = Rng(seed, 1);
  return b;
}

inline AugOptions strong_aug(SizeHW size, double min_scale, SampleMode mode = SampleMode::bilinear,
                             PadMode pad = PadMode::reflection) {
  AugOptions o;
  o.size = size;
  o.min_scale = min_scale;
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

}  // namespace fastpp::test
