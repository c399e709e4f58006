// The vision transforms' speed: PIL-exact Resize of a pets-sized photo, and the batch augmentation's single
// resample (flip, rotate, zoom, warp and crop in one map) of a presized batch. The PyTorch/PIL side of the
// same work: benchmarks/compare/vision_transforms.py.
#include <benchmark/benchmark.h>

#include <fastpp/vision/transforms.hpp>

#include "bench_main.hpp"

namespace {
fastpp::Image synthetic_photo(std::int64_t h, std::int64_t w) {
  auto img = fastpp::Image::empty(fastpp::Shape{h, w, 3});
  fastpp::Rng rng(1);
  for (std::int64_t i = 0; i < img.numel(); ++i)
    img.data()[i] = static_cast<std::uint8_t>((i * 7 / 3 + (i / (w * 3)) * 5) % 256 / 2 + rng.below(128));
  return img;
}

// A 500 x 375 photo (the pets' typical size) to 460 x 460, crop on train: one item transform.
void BM_Resize460(benchmark::State& state) {
  const fastpp::Image img = synthetic_photo(375, 500);
  const fastpp::Resize r{460};
  for (auto _ : state) benchmark::DoNotOptimize(r.apply(img, 0.3, 0.5).data());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Resize460)->Unit(benchmark::kMillisecond)->MinTime(1.0);

// aug_transforms(size=224, min_scale=0.75) on a batch of 16 presized 460 x 460 images, one resample each.
void BM_AugBatch16(benchmark::State& state) {
  fastpp::set_num_threads(static_cast<int>(state.range(0)));
  auto batch = fastpp::Tensor<float>::empty(fastpp::Shape{16, 460, 460, 3});
  for (std::int64_t i = 0; i < batch.numel(); ++i) batch.data()[i] = static_cast<float>(i % 251) / 251.0f;
  const auto [aff, light] = fastpp::aug_transforms(fastpp::AugOptions{.size = 224, .min_scale = 0.75});
  fastpp::BatchContext ctx;
  for (auto _ : state) {
    ++ctx.batch_index;
    benchmark::DoNotOptimize(light(aff(batch, ctx), ctx).data());
  }
  state.SetItemsProcessed(state.iterations() * 16);
}
BENCHMARK(BM_AugBatch16)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
}  // namespace

FASTPP_BENCHMARK_MAIN()
