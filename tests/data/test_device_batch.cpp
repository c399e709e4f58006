// The loader's batch transforms left to the device (defer_batch_tfms, data/deferred_batch.hpp,
// data/device_batch.hpp), on the cpu: the deferred batches' inputs made by batch_input_on<cpu> are the
// loader's own batches bit for bit, over epochs, both splits and several aug_transforms; a pipeline the
// device pass cannot run keeps the cpu path and says why. (The GPU's side: tests/cuda/test_device_batch.cpp.)
#include <catch2/catch.hpp>
#include <fastpp/data.hpp>
#include <fastpp/data/device_batch.hpp>
#include <fastpp/vision/augment.hpp>

#include <cstring>
#include <vector>

#include "helpers.hpp"
#include "test_tfms.hpp"
#include "../support/augment_batch.hpp"

using namespace fastpp;
using namespace fastpp::test;

namespace {

bool same_bits(const Tensor<float, cpu>& a, const Tensor<float, cpu>& b) {
  return a.defined() && b.defined() && a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.nbytes()) == 0;
}

template <class Tfms>
auto block_with(Tfms tfms) {
  return DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label(),
                   item_tfms(CropTo{9}), std::move(tfms)};
}

// Every batch of `epochs` train epochs and one valid epoch of `dls` with the mode off, against the same
// loaders with the batch transforms deferred: batch_input_on<cpu> gives the same bits, the targets and
// items are the same, and the deferred batches have no x.
template <class Block>
void check_deferred_equals_cpu(const Block& block, const fs::path& root) {
  auto off = block.dataloaders(root, {.bs = 4, .num_workers = 2, .seed = 11});
  auto on = block.dataloaders(root, {.bs = 4, .num_workers = 2, .seed = 11});
  REQUIRE(on.train.device_batch_tfms_reason().empty());
  REQUIRE(on.defer_batch_tfms());
  CHECK(on.train.batch_tfms_deferred());
  CHECK(on.valid.batch_tfms_deferred());
  CHECK_FALSE(off.train.batch_tfms_deferred());
  int compared = 0, differs_from_plain = 0;
  for (int epoch = 0; epoch < 3; ++epoch) {
    const bool train = epoch < 2;
    const DataLoader& a = train ? off.train : off.valid;
    const DataLoader& b = train ? on.train : on.valid;
    std::vector<Batch> want;
    for (const Batch& x : a) want.push_back(x);
    std::size_t k = 0;
    for (const Batch& x : b) {
      REQUIRE(k < want.size());
      INFO("epoch " << epoch << ", batch " << k);
      CHECK_FALSE(x.x.defined());
      REQUIRE(x.deferred != nullptr);
      CHECK(x.deferred->images.shape() == Shape{batch_rows(x), 9, 9, 3});
      const Tensor<float, cpu> got = batch_input_on<cpu>(x);
      CHECK(same_bits(got, want[k].x));
      CHECK(batch_rows(x) == want[k].x.size(0));
      CHECK(x.idxs == want[k].idxs);
      CHECK(std::equal(x.y.begin(), x.y.end(), want[k].y.begin(), want[k].y.end()));
      // the mode-off batch's input on the cpu is its x itself
      CHECK(batch_input_on<cpu>(want[k]).data() == want[k].x.data());
      // the augmentation did something: not just the images / 255 (so equal bits are not a trivial match)
      const Tensor<float, cpu> plain = int_to_float(x.deferred->images);
      differs_from_plain += plain.shape() == got.shape() && same_bits(plain, got) ? 0 : 1;
      ++compared;
      ++k;
    }
    CHECK(k == want.size());
  }
  CHECK(compared == 6 + 6 + 3);  // 24 train items in 6 batches of 4, twice; 9 valid items in 3 batches
  CHECK(differs_from_plain == compared);
  // one_batch is not deferred: show_batch, the report and summary keep their x
  const Batch first = on.one_batch();
  CHECK(first.deferred == nullptr);
  CHECK(same_bits(first.x, off.one_batch().x));
  // switched off again: x is back
  CHECK_FALSE(on.defer_batch_tfms(false));
  for (const Batch& x : on.valid) {
    CHECK(x.deferred == nullptr);
    CHECK(x.x.defined());
  }
}

}  // namespace

TEST_CASE("deferred batch transforms: batch_input_on<cpu> is the loader's batch, bit for bit", "[loader][device]") {
  TempDir t;
  make_tree(t.path());
  SECTION("aug_transforms (rotation, zoom, warp, lighting, random resized crop) and Normalize") {
    const AugOptions o = strong_aug(SizeHW{7, 7}, 0.5);
    check_deferred_equals_cpu(block_with(batch_tfms(aug_transforms(o), Normalize::from_stats(imagenet_stats))),
                              t.path());
  }
  SECTION("fastai's defaults without Normalize, a resize to a non-square size") {
    AugOptions o;
    o.size = SizeHW{6, 8};
    check_deferred_equals_cpu(block_with(batch_tfms(aug_transforms(o))), t.path());
  }
  SECTION("AffineCoordTfm alone (nearest, zeros padding) and Normalize, no lighting") {
    AugOptions o;
    o.mode = SampleMode::nearest;
    o.pad_mode = PadMode::zeros;
    o.max_rotate = 45;
    check_deferred_equals_cpu(
        block_with(batch_tfms(AffineCoordTfm{o}, Normalize::from_stats(cifar_stats))), t.path());
  }
}

TEST_CASE("a pipeline the device pass cannot run keeps the cpu path and says why", "[loader][device]") {
  TempDir t;
  make_tree(t.path());
  auto check_kept = [&](const auto& block, const std::string& why) {
    auto plain = block.dataloaders(t.path(), {.bs = 4, .num_workers = 2, .seed = 3});
    auto dls = block.dataloaders(t.path(), {.bs = 4, .num_workers = 2, .seed = 3});
    CHECK_THAT(dls.train.device_batch_tfms_reason(), Catch::Contains(why));
    CHECK(dls.train.device_batch_tfms_reason().find('\n') == std::string::npos);
    CHECK_FALSE(dls.defer_batch_tfms());
    CHECK_FALSE(dls.train.batch_tfms_deferred());
    std::vector<Batch> want;
    for (const Batch& b : plain.train) want.push_back(b);
    std::size_t k = 0;
    for (const Batch& b : dls.train) {
      REQUIRE(k < want.size());
      CHECK(b.deferred == nullptr);
      CHECK(same_bits(batch_input_on<cpu>(b), want[k].x));
      ++k;
    }
    CHECK(k == want.size());
  };
  // Jitter (order 30) sorts after AffineCoordTfm (30, given first) and before LightingTfm (40)
  check_kept(block_with(batch_tfms(aug_transforms(), Jitter{0.05f})), "batch transform 'Jitter' is not one the device");
  check_kept(block_with(batch_tfms(Normalize::from_stats(imagenet_stats))),
             "the first batch transform is 'Normalize -- {mean");
  check_kept(block_with(batch_tfms(Jitter{0.05f}, AffineCoordTfm{})),
             "first batch transform is 'Jitter', not AffineCoordTfm");
  auto none = DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label(),
                        item_tfms(CropTo{9})};
  check_kept(none, "there are no batch transforms");
}

TEST_CASE("batch_input_on refuses deferred parameters that do not fit the images", "[loader][device]") {
  Batch b;
  AugmentBatch p;
  p.n = 2;
  p.in_h = p.in_w = p.out_h = p.out_w = 4;
  p.maps.resize(2);
  b.deferred = std::make_shared<const DeferredInput>(DeferredInput{Tensor<std::uint8_t>::zeros({3, 4, 4, 3}), p});
  CHECK_THROWS_WITH(batch_input_on<cpu>(b), Catch::Contains("parameters for 2 images of 4 x 4 do not fit"));
  CHECK_THROWS_WITH(batch_input_on<cpu>(Batch{}), Catch::Contains("neither x nor deferred images"));
}
