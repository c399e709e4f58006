// Issue 18: dataloaders() refuses options that would make training silently do nothing or misbehave:
// a batch size larger than the training split (a train loader of 0 batches with drop_last), a negative
// prefetch depth; num_workers is capped at max_num_workers() (4 x the hardware threads).
#include <catch2/catch.hpp>
#include <fastpp/data.hpp>

#include <algorithm>
#include <thread>

#include "helpers.hpp"
#include "test_tfms.hpp"

using namespace fastpp;
using namespace fastpp::test;

namespace {
auto plain_tree_block() {
  return DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label(),
                   item_tfms(CropTo{8})};
}
}  // namespace

TEST_CASE("a batch size larger than the training split is refused, naming both numbers", "[loader][options]") {
  TempDir t;
  make_tree(t.path());  // 24 training items, 9 validation items
  CHECK_THROWS_WITH(plain_tree_block().dataloaders(t.path(), {.bs = 25, .num_workers = 0}),
                    Catch::Contains("bs = 25") && Catch::Contains("24 items") && Catch::Contains("no batch"));
  // The largest batch that fits, and a larger one without drop_last (one partial batch), are fine.
  CHECK(plain_tree_block().dataloaders(t.path(), {.bs = 24, .num_workers = 0}).train.n_batches() == 1);
  CHECK(plain_tree_block().dataloaders(t.path(), {.bs = 100, .num_workers = 0, .drop_last = false}).train.n_batches() == 1);
}

TEST_CASE("a negative prefetch depth is refused, not replaced by the default", "[loader][options]") {
  TempDir t;
  make_tree(t.path());
  CHECK_THROWS_WITH(plain_tree_block().dataloaders(t.path(), {.bs = 4, .num_workers = 1, .prefetch = -3}),
                    Catch::Contains("prefetch") && Catch::Contains("-3"));
  CHECK_NOTHROW(plain_tree_block().dataloaders(t.path(), {.bs = 4, .num_workers = 1, .prefetch = 0}));
}

TEST_CASE("num_workers is capped at max_num_workers(), 4 x the hardware threads", "[loader][options]") {
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  CHECK(max_num_workers() == 4 * hw);
  TempDir t;
  make_tree(t.path());
  auto dls = plain_tree_block().dataloaders(t.path(), {.bs = 4, .num_workers = 1000});
  CHECK(dls.train.num_workers() == std::min(1000, 4 * hw));
  CHECK(plain_tree_block().dataloaders(t.path(), {.bs = 4, .num_workers = 2}).train.num_workers() == 2);
}
