// A learner whose model is on another device than the cpu takes its loaders' batch transforms to that device
// (dls.defer_batch_tfms(), data/device_batch.hpp: on the GPU one uint8 copy and one augmentation kernel). Here
// the device is the counting test device (tests/nn/counting_device.hpp: host memory, the cpu's kernels), whose
// batch_input_on runs the cpu's passes: the run must equal a cpu learner's bit for bit.
#include <catch2/catch.hpp>

#include "../nn/counting_device.hpp"
#include "helpers.hpp"

using namespace fastpp;
using namespace fastpp::test;

namespace {
DataLoaders augmented_colour_dls(const fs::path& root) {
  auto block = DataBlock{Blocks{ImageBlock{.load = load_netpbm}, CategoryBlock{}}, get_image_files,
                         GrandparentSplitter{}, parent_label, item_tfms(Resize{12}),
                         batch_tfms(aug_transforms({.size = 10, .min_scale = 0.75}),
                                    Normalize::from_stats(imagenet_stats))};
  return block.dataloaders(root, {.bs = 8, .num_workers = 0, .seed = 3});
}
}  // namespace

TEST_CASE("a learner on another device runs its batch transforms there and trains as the cpu learner",
          "[learner][device]") {
  TempDir t;
  write_colour_dataset(t.path());
  LearnerOptions o = quiet_in(t.path());
  o.seed = 5;
  using Other = nn::on_device_t<TinyNet, seam::counting>;
  Other other_net(nn::Build{Rng(0), 3});
  auto on_cpu = make_learner(augmented_colour_dls(t.path()), tiny_net(), metrics(accuracy), o);
  auto on_other = make_learner(augmented_colour_dls(t.path()), std::move(other_net), metrics(accuracy), o);
  CHECK_FALSE(on_cpu.dls().train.batch_tfms_deferred());
  REQUIRE(on_other.dls().train.batch_tfms_deferred());
  REQUIRE(on_other.dls().valid.batch_tfms_deferred());
  REQUIRE(weights_of(on_cpu.model()) == weights_of(on_other.model()));

  on_cpu.fit_one_cycle(2, 1e-2);
  on_other.fit_one_cycle(2, 1e-2);
  CHECK(bit_equal(weights_of(on_cpu.model()), weights_of(on_other.model())));
  CHECK(on_cpu.recorder().values == on_other.recorder().values);
  const auto a = on_cpu.get_preds(1, true), b = on_other.get_preds(1, true);
  CHECK(std::equal(a.probs.begin(), a.probs.end(), b.probs.begin(), b.probs.end()));
  CHECK(std::equal(a.losses.begin(), a.losses.end(), b.losses.begin(), b.losses.end()));
}
