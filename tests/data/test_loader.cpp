#include <catch2/catch.hpp>
#include <fastpp/data.hpp>

#include <algorithm>
#include <cstring>
#include <set>
#include <sstream>

#include "helpers.hpp"
#include "test_tfms.hpp"

using namespace fastpp;
using namespace fastpp::test;

namespace {

auto tree_block() {
  return DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label(),
                   item_tfms(CropTo{8}), batch_tfms(Jitter{0.05f})};
}

bool same(const Tensor<float, cpu>& a, const Tensor<float, cpu>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.nbytes()) == 0;
}
bool same(const Batch& a, const Batch& b) {
  return same(a.x, b.x) && a.idxs == b.idxs && a.y.shape() == b.y.shape() &&
         std::equal(a.y.begin(), a.y.end(), b.y.begin());
}

std::vector<Batch> epochs(const DataLoader& dl, int n) {
  std::vector<Batch> out;
  for (int e = 0; e < n; ++e)
    for (const Batch& b : dl) out.push_back(b);
  return out;
}

}  // namespace

TEST_CASE("dataloaders: batch counts, sizes, drop_last on train only, vocab and c", "[loader][threads]") {
  TempDir t;
  make_tree(t.path());
  auto dls = tree_block().dataloaders(t.path(), {.bs = 5, .num_workers = 2});
  CHECK(dls.train.n_items() == 24);
  CHECK(dls.valid.n_items() == 9);
  CHECK(dls.train.n_batches() == 4);  // 24 / 5, last partial batch dropped
  CHECK(dls.valid.n_batches() == 2);  // ceil(9 / 5)
  CHECK(dls.vocab == L<std::string>{"Bag", "Sandal", "ankle_boot"});
  CHECK(dls.c == 3);
  std::vector<std::int64_t> sizes;
  for (const Batch& b : dls.valid) {
    sizes.push_back(b.x.size(0));
    CHECK(b.x.shape() == Shape{b.x.size(0), 8, 8, 3});
    CHECK(b.y.shape() == Shape{b.x.size(0)});
  }
  CHECK(sizes == std::vector<std::int64_t>{5, 4});
  auto no_drop = tree_block().dataloaders(t.path(), {.bs = 5, .num_workers = 0, .drop_last = false});
  CHECK(no_drop.train.n_batches() == 5);
  CHECK(tree_block().dataloaders(t.path(), {.bs = 5, .num_workers = 0, .val_bs = 9}).valid.n_batches() == 1);
  CHECK_THROWS_WITH(tree_block().dataloaders(t.path(), {.bs = 0}), Catch::Contains("bs must be at least 1, got 0"));
  CHECK_THROWS_WITH(tree_block().dataloaders(t.path(), {.num_workers = -2}), Catch::Contains("num_workers must be"));
  // A batch larger than the training split would leave the train loader empty: refused (issue 18; more in
  // test_loader_options.cpp).
  CHECK_THROWS_WITH(tree_block().dataloaders(t.path(), {.bs = 100, .num_workers = 1}),
                    Catch::Contains("bs = 100 is larger than the training split (24 items)"));
}

TEST_CASE("batches are identical for a seed whatever num_workers", "[loader][threads]") {
  TempDir t;
  make_tree(t.path());
  auto ref = tree_block().dataloaders(t.path(), {.bs = 4, .num_workers = 0, .seed = 7});
  const auto ref_train = epochs(ref.train, 2);
  const auto ref_valid = epochs(ref.valid, 1);
  REQUIRE(ref_train.size() == 12);
  for (int workers : {1, 2, 4}) {
    for (int prefetch : {0, 1, 5}) {
      auto dls = tree_block().dataloaders(t.path(), {.bs = 4, .num_workers = workers, .seed = 7, .prefetch = prefetch});
      const auto train = epochs(dls.train, 2);
      const auto valid = epochs(dls.valid, 1);
      REQUIRE(train.size() == ref_train.size());
      for (std::size_t i = 0; i < train.size(); ++i) CHECK(same(train[i], ref_train[i]));
      REQUIRE(valid.size() == ref_valid.size());
      for (std::size_t i = 0; i < valid.size(); ++i) CHECK(same(valid[i], ref_valid[i]));
    }
  }
  // Another seed changes the shuffle and the augmentation.
  auto other = tree_block().dataloaders(t.path(), {.bs = 4, .num_workers = 2, .seed = 8});
  CHECK_FALSE(same(epochs(other.train, 1)[0], ref_train[0]));
}

TEST_CASE("a new shuffle each epoch, covering every item once; valid keeps its order", "[loader][threads]") {
  TempDir t;
  make_tree(t.path());
  auto dls = tree_block().dataloaders(t.path(), {.bs = 4, .num_workers = 2, .seed = 1});
  std::vector<std::vector<std::int64_t>> orders;
  for (int e = 0; e < 3; ++e) {
    std::vector<std::int64_t> order;
    for (const Batch& b : dls.train) order.insert(order.end(), b.idxs.begin(), b.idxs.end());
    std::vector<std::int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == L<std::int64_t>::range(24).vec());  // 24 = 6 * 4: nothing dropped
    orders.push_back(order);
  }
  CHECK(orders[0] != orders[1]);
  CHECK(orders[1] != orders[2]);
  CHECK(orders[0] == dls.train.order(0));
  for (int e = 0; e < 2; ++e) {
    std::vector<std::int64_t> order;
    for (const Batch& b : dls.valid) order.insert(order.end(), b.idxs.begin(), b.idxs.end());
    CHECK(order == L<std::int64_t>::range(9).vec());
  }
  // Augmentation is drawn afresh each epoch too: the same item differs between epochs on train.
  const Image t0 = dls.train.item(0, 0), t0_again = dls.train.item(0, 0), t1 = dls.train.item(0, 1);
  CHECK(std::equal(t0.begin(), t0.end(), t0_again.begin()));
  CHECK_FALSE(std::equal(t0.begin(), t0.end(), t1.begin()));
  const Image v0 = dls.valid.item(0, 0), v1 = dls.valid.item(0, 1);
  CHECK(std::equal(v0.begin(), v0.end(), v1.begin()));  // centre crop on valid: no randomness
}

TEST_CASE("one_batch is the next epoch's first batch and does not consume it", "[loader][threads]") {
  TempDir t;
  make_tree(t.path());
  auto dls = tree_block().dataloaders(t.path(), {.bs = 4, .num_workers = 2, .seed = 3});
  const Batch b = dls.one_batch();
  CHECK(same(b, dls.one_batch()));
  CHECK(same(b, *dls.train.begin()));  // that loop was epoch 0
  const Batch next = dls.one_batch();
  CHECK_FALSE(same(next, b));  // epoch 1: another shuffle
  CHECK(same(next, *dls.train.begin()));
}

TEST_CASE("x is the collated images / 255 (IntToFloat), y the vocabulary index of each label", "[loader][threads]") {
  TempDir t;
  // Same-sized images, no transforms: the batch is exactly the files' pixels.
  for (int k = 0; k < 6; ++k) write_ppm(t / "train" / (k % 2 ? "b" : "a") / ("img_" + std::to_string(k) + ".ppm"), 3, 4, k);
  write_ppm(t / "valid/a/img_9.ppm", 3, 4, 9);
  auto db = DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, parent_label};
  auto dls = db.dataloaders(t.path(), {.bs = 3, .num_workers = 1});
  const auto items = dls.train.items();
  for (const Batch& b : dls.train) {
    for (std::int64_t i = 0; i < b.x.size(0); ++i) {
      const auto& path = items[b.idxs[static_cast<std::size_t>(i)]];
      const Image img = load_netpbm(path);
      bool equal = true;
      for (std::int64_t k = 0; k < img.numel(); ++k)
        equal = equal && b.x.data()[i * img.numel() + k] == static_cast<float>(img.data()[k]) / 255.0f;
      CHECK(equal);
      CHECK(b.y.data()[i] == (path.parent_path().filename() == "a" ? 0 : 1));
    }
  }
}

TEST_CASE("an exception in a worker reaches the caller, naming the file and the step", "[loader][threads]") {
  TempDir t;
  make_tree(t.path());
  write_text(t / "train/Bag/Bag_99.ppm", "P6\n10 10\n255\nshort");  // truncated pixels
  for (int workers : {0, 3}) {
    auto dls = tree_block().dataloaders(t.path(), {.bs = 4, .num_workers = workers, .seed = 1});
    try {
      for (const Batch& b : dls.train) (void)b;
      FAIL("the truncated file was not reported");
    } catch (const FormatError& e) {
      CHECK_THAT(std::string(e.what()), Catch::Contains("Bag_99.ppm") && Catch::Contains("truncated"));
      CHECK_THAT(e.path(), Catch::EndsWith("Bag_99.ppm"));
    }
  }
}

TEST_CASE("a throwing item transform reaches the caller as ItemError naming the file and the step", "[loader][threads]") {
  TempDir t;
  make_tree(t.path());
  auto db = DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label(),
                      item_tfms(FailOnHeight{13}, CropTo{8})};  // train files with k = 3, 7 are 13 high
  auto dls = db.dataloaders(t.path(), {.bs = 4, .num_workers = 2});
  try {
    for (const Batch& b : dls.train) (void)b;
    FAIL("the failing transform was not reported");
  } catch (const ItemError& e) {
    CHECK(e.step() == "FailOnHeight");
    CHECK_THAT(std::string(e.what()), Catch::Contains("step 'FailOnHeight' failed: boom: cannot handle height 13") &&
                                          Catch::Contains(".ppm]"));
    CHECK_THAT(e.path(), Catch::Matches(".*_[37]\\.ppm"));
  }
  // valid has no 13-high file (k = 8, 9, 10): it loads.
  int n = 0;
  for (const Batch& b : dls.valid) n += static_cast<int>(b.x.size(0));
  CHECK(n == 9);
}

TEST_CASE("leaving a loop early neither hangs nor leaks work", "[loader][threads]") {
  TempDir t;
  make_tree(t.path());
  auto dls = tree_block().dataloaders(t.path(), {.bs = 2, .num_workers = 3, .prefetch = 6});
  for (int e = 0; e < 5; ++e) {
    int seen = 0;
    for (const Batch& b : dls.train) {
      (void)b;
      if (++seen == 2) break;
    }
    CHECK(seen == 2);
  }
  // The loader is still usable and deterministic after the early exits.
  auto ref = tree_block().dataloaders(t.path(), {.bs = 2, .num_workers = 0, .prefetch = 6});
  for (int e = 0; e < 5; ++e) (void)ref.train.begin();
  CHECK(same(*dls.train.begin(), *ref.train.begin()));
}

TEST_CASE("a throwing batch transform reaches the caller naming the batch, the loader and the step", "[loader][threads]") {
  TempDir t;
  make_tree(t.path());
  auto db = DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label(),
                      item_tfms(CropTo{8}), batch_tfms(BrokenBatchTfm{})};
  // The source may be anything get_items takes: here a std::string.
  auto dls = db.dataloaders(t.path().string(), {.bs = 4, .num_workers = 2});
  CHECK_THROWS_WITH(*dls.valid.begin(), Catch::Contains("batch 0 of the valid loader: batch transform 'BrokenBatchTfm' "
                                                        "failed: expected 224x224"));
  std::ostringstream os;
  CHECK_THROWS(db.summary(t.path().string(), os));
  CHECK_THAT(os.str(), Catch::Contains("applying BrokenBatchTfm failed\n      on input: (Tensor<float32> of size "
                                       "4x8x8x3, Tensor<int64>([0, 0, 0, 0]))\n      error: expected 224x224"));
}

TEST_CASE("decode undoes the batch transforms that have a decode, last first; labels give captions", "[loader]") {
  TempDir t;
  make_tree(t.path());
  auto db = DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label(),
                      item_tfms(CropTo{8}), batch_tfms(Affine2{}, Scale{2.0f})};  // Scale (99, given last) has none
  auto dls = db.dataloaders(t.path(), {.bs = 4, .num_workers = 0});
  const Batch b = dls.valid.one_batch();
  const auto decoded = dls.valid.decode(b.x);
  CHECK_FALSE(decoded.shares_storage_with(b.x));
  // Forward: (p * 2 - 1) * 2; decode skips Scale (no decode) and undoes Affine2: ((p*2-1)*2 + 1) / 2.
  const Image first = dls.valid.item(b.idxs[0]);
  const float p = static_cast<float>(first.data()[5]) / 255.0f;
  CHECK(b.x.data()[5] == Approx((p * 2 - 1) * 2));
  CHECK(decoded.data()[5] == Approx(((p * 2 - 1) * 2 + 1) / 2));
  CHECK(dls.labels(b) == std::vector<std::string>{"Bag", "Bag", "Bag", "Sandal"});
}
