// The chapter's presizing as a loader runs it, in images per second: decode + Resize(460) (item transform)
// + aug_transforms(size = 224, min_scale = 0.75) (batch transforms, one resample), through a DataBlock's
// train DataLoader with 1 and 2 workers (each worker builds whole batches; fastpp's own threads set to the
// same count). Three image sets, written by benchmarks/compare/make_image_sets.py (pets, large) and
// scripts/main.sh (fashion) into ignored folders:
//   pets     about 1000 JPEGs of 500 x 375, quality 75-90 (the Oxford pets' size), batch 64
//   large    Debian's wallpapers, 1.3 to 18 megapixels (mate-backgrounds, ukui-wallpapers), batch 3
//   fashion  the first 2048 Fashion-MNIST PNGs (28 x 28) with the main job's recipe instead (decode + flips
//            at 28 px: presizing a 28-pixel image to 460 would measure nothing useful), batch 64
// FASTPP_IMAGE_BENCH (default data/image_bench) and FASTPP_FASHION (default data/fashion/valid) say where;
// a missing set is skipped with a message. Stage timings (decode alone, decode + Resize) show where the
// time goes. The PIL / torchvision side: benchmarks/compare/image_pipeline.py (image_pipeline.sh).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fastpp/data.hpp>
#include <fastpp/vision/transforms.hpp>
#include <filesystem>
#include <string>

#include "bench_main.hpp"

namespace {
namespace fs = std::filesystem;
using namespace fastpp;

fs::path set_folder(const std::string& set) {
  if (set == "fashion") {
    const char* f = std::getenv("FASTPP_FASHION");
    return f ? fs::path(f) : fs::path("data/fashion/valid");
  }
  const char* root = std::getenv("FASTPP_IMAGE_BENCH");
  return (root ? fs::path(root) : fs::path("data/image_bench")) / set;
}

// The first `limit` files in train (all but the last when 0), the last in valid (a DataBlock needs both).
struct FirstN {
  std::int64_t limit = 0;
  Splits operator()(const L<fs::path>& items) const {
    Splits s;
    const auto n = static_cast<std::int64_t>(items.size());
    for (std::int64_t i = 0; i < (limit > 0 ? std::min(limit, n - 1) : n - 1); ++i) s.train.push_back(i);
    s.valid.push_back(n - 1);
    return s;
  }
};

// One class for every file: the labels cost nothing and the valid item's class is always in train.
std::string one_label(const fs::path&) { return "photo"; }

DataLoaders loaders(const std::string& set, int workers) {
  const DataLoaderOptions lo{.bs = set == "large" ? 3 : 64, .num_workers = workers, .seed = 1};
  const fs::path folder = set_folder(set);
  if (set == "fashion")
    return DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, FirstN{2048},
                     one_label,
                     batch_tfms(aug_transforms({.do_flip = true, .max_rotate = 0, .max_zoom = 1, .max_lighting = 0,
                                                .max_warp = 0}))}
        .dataloaders(folder, lo);
  return DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, FirstN{},
                   one_label, item_tfms(Resize{460}),
                   batch_tfms(aug_transforms({.size = 224, .min_scale = 0.75}))}
      .dataloaders(folder, lo);
}

// One iteration: one epoch of the train loader.
void BM_Pipeline(benchmark::State& state, const std::string& set) {
  const int threads = static_cast<int>(state.range(0));
  if (!fs::is_directory(set_folder(set))) {
    state.SkipWithError(("no image set at " + set_folder(set).string() +
                         " (benchmarks/compare/make_image_sets.py, scripts/main.sh)").c_str());
    return;
  }
  set_num_threads(threads);
  auto dls = loaders(set, threads);
  // One epoch first, untimed: the batch-sized blocks are then in the allocator's cache (core/block_cache.hpp)
  // and the files in the page cache, as in every epoch of a training run but the first.
  for (const auto& b : dls.train) benchmark::DoNotOptimize(b.x.data());
  std::int64_t images = 0;
  for (auto _ : state)
    for (const auto& b : dls.train) {
      benchmark::DoNotOptimize(b.x.data());
      images += b.x.size(0);
    }
  state.SetItemsProcessed(images);
}
BENCHMARK_CAPTURE(BM_Pipeline, pets, std::string("pets"))->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK_CAPTURE(BM_Pipeline, large, std::string("large"))->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK_CAPTURE(BM_Pipeline, fashion, std::string("fashion"))->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

// Where the time goes, on one thread: decode alone (arg 1: at the scale Resize(460) allows; 0: full size),
// and decode + Resize(460).
void BM_Stage(benchmark::State& state, const std::string& set, bool resize) {
  const fs::path folder = set_folder(set);
  if (!fs::is_directory(folder)) {
    state.SkipWithError(("no image set at " + folder.string()).c_str());
    return;
  }
  std::vector<std::vector<std::uint8_t>> files;
  for (const auto& p : get_image_files(folder)) files.push_back(read_file_bytes(p));
  DecodeOptions opts;
  if (state.range(0) == 1) opts.min_size = Resize{460}.min_decode_size();
  const Resize r{460};
  std::int64_t images = 0;
  for (auto _ : state)
    for (const auto& f : files) {
      Image img = decode_image(f, "bench", opts);
      if (resize) img = r.apply(img, 0.5, 0.5);
      benchmark::DoNotOptimize(img.data());
      ++images;
    }
  state.SetItemsProcessed(images);
}
BENCHMARK_CAPTURE(BM_Stage, pets_decode, std::string("pets"), false)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK_CAPTURE(BM_Stage, pets_decode_resize, std::string("pets"), true)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK_CAPTURE(BM_Stage, large_decode, std::string("large"), false)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK_CAPTURE(BM_Stage, large_decode_resize, std::string("large"), true)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(1.0);
}  // namespace

FASTPP_BENCHMARK_MAIN()
