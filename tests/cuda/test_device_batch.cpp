// Runs on a GPU machine only. The loader's batch transforms left to the device (dl.defer_batch_tfms(),
// data/device_batch.hpp): batch_input_on<cuda> of each deferred batch (one uint8 copy, then
// cuda_kernels::augment_batch) against batch_input_on<cpu> of the same batch, which the cpu tests
// (tests/data/test_device_batch.cpp) show to be the loader's own batch bit for bit. A small folder of real
// image files (the data tests' tree), two train epochs and the valid epoch, with strong augmentation
// (rotation, warp, zoom, lighting, a random resized crop), Normalize, bilinear and nearest. The GPU's
// output block is poisoned with NaN before each call (the allocator hands the NaN block back to the call's
// output, checked by its address), so a pixel the kernel never writes fails.
#include <catch2/catch.hpp>
#include <fastpp/data.hpp>
#include <fastpp/data/device_batch.hpp>
#include <fastpp/vision/augment.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../data/helpers.hpp"
#include "../data/test_tfms.hpp"
#include "../support/augment_batch.hpp"
#include "compare.hpp"

using namespace fastpp;

namespace device_batch_test {

// One loop over a deferred loader: every batch's GPU input against its cpu input.
inline int compare_epoch(const DataLoader& dl, double tol) {
  int batches = 0;
  for (const Batch& b : dl) {
    INFO(dl.split_name() << " batch " << batches);
    REQUIRE(b.deferred != nullptr);
    const backend::AugmentBatch& p = b.deferred->params;
    const Tensor<float, cpu> want = batch_input_on<cpu>(b);
    REQUIRE(want.shape() == Shape{p.n, p.out_h, p.out_w, 3});
    const void* poisoned_block = nullptr;
    {  // a NaN block of the output's size, released to this stream's pool: the call's output takes it back
      const auto poison = gpu_compare::poisoned(want.numel());
      poisoned_block = poison.data();
    }
    const Tensor<float, cuda> got = batch_input_on<cuda>(b);
    REQUIRE(static_cast<const void*>(got.data()) == poisoned_block);
    REQUIRE(got.shape() == want.shape());
    gpu_compare::check_close(gpu_compare::host(got), std::vector<float>(want.data(), want.data() + want.numel()), tol,
                             "batch_input_on<cuda> vs <cpu>");
    ++batches;
  }
  return batches;
}

}  // namespace device_batch_test

TEST_CASE("deferred batch transforms: batch_input_on<cuda> matches batch_input_on<cpu>", "[cuda][data]") {
  test::TempDir t;
  test::make_tree(t.path());
  for (SampleMode mode : {SampleMode::bilinear, SampleMode::nearest}) {
    INFO(to_string(mode));
    // larger than the 9 x 9 inputs: the output's block is not the uint8 copy's size class
    const AugOptions o = test::strong_aug(SizeHW{16, 12}, 0.6, mode);
    auto block = DataBlock{Blocks{test::ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{},
                           test::regex_label(), item_tfms(test::CropTo{9}),
                           batch_tfms(aug_transforms(o), Normalize::from_stats(imagenet_stats))};
    auto dls = block.dataloaders(t.path(), {.bs = 4, .num_workers = 2, .seed = 5});
    REQUIRE(dls.defer_batch_tfms());
    // Bilinear: 1e-5 relative (the lighting's exp and log are the device's), plus what a few ulps of a
    // sample point's coordinates move a value by: 4 ulps of a 9-pixel coordinate (4e-6 pixel) times the
    // steepest slope, the batch's range per pixel (about 2x its largest value, the pattern images wrap from
    // 255 to 0) times the lighting's slope (taken as 20, as tests/cuda/test_augment.cpp): 2e-4 of the
    // largest value. Nearest: the same pixel, so 1e-5 (after the lighting and Normalize), unless an ulp of
    // the map tips a sample at an exact tie between two pixels: a random train map lands that close to a
    // half-integer with odds of about 1e-6 a sample (some 10^4 samples here), and the valid maps' points
    // (col * 8 / 11, row * 8 / 15) stay at least 1/30 pixel from one.
    const double tol = mode == SampleMode::bilinear ? 2e-4 : 1e-5;
    int batches = 0;
    for (int epoch = 0; epoch < 2; ++epoch) batches += device_batch_test::compare_epoch(dls.train, tol);
    batches += device_batch_test::compare_epoch(dls.valid, tol);
    CHECK(batches == 6 + 6 + 3);
  }
}
