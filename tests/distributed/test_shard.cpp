// The data-parallel sampler (data/shard.hpp) and the sharded loaders, without MPI: a rank's share of an
// epoch is a pure function of (seed, epoch, rank, world size).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <numeric>

#include "../learner/helpers.hpp"

using namespace fastpp;
using fastpp::test::TempDir;

namespace {
std::vector<std::int64_t> iota_order(std::int64_t n, std::int64_t start = 100) {
  std::vector<std::int64_t> o(static_cast<std::size_t>(n));
  std::iota(o.begin(), o.end(), start);
  return o;
}
}  // namespace

TEST_CASE("shard_order cuts an epoch as PyTorch's DistributedSampler", "[shard]") {
  const auto o = iota_order(10);  // 100..109
  // total 12: the order padded with its first two items, then every third position from the rank
  CHECK(shard_order(o, {0, 3, true}) == std::vector<std::int64_t>{100, 103, 106, 109});
  CHECK(shard_order(o, {1, 3, true}) == std::vector<std::int64_t>{101, 104, 107, 100});
  CHECK(shard_order(o, {2, 3, true}) == std::vector<std::int64_t>{102, 105, 108, 101});
  // unpadded: the first n % world ranks get one more
  CHECK(shard_order(o, {0, 3, false}) == std::vector<std::int64_t>{100, 103, 106, 109});
  CHECK(shard_order(o, {1, 3, false}) == std::vector<std::int64_t>{101, 104, 107});
  // more ranks than items: the padding repeats the epoch as often as needed
  CHECK(shard_order(iota_order(2), {4, 5, true}) == std::vector<std::int64_t>{100});
  CHECK(shard_order(iota_order(2), {3, 5, true}) == std::vector<std::int64_t>{101});
  CHECK(shard_order(iota_order(2), {3, 5, false}).empty());
  CHECK(shard_order(iota_order(0), {1, 2, true}).empty());
}

TEST_CASE("shards never overlap, cover the epoch and are the same size when padded", "[shard]") {
  for (std::int64_t n = 0; n <= 13; ++n)
    for (int world : {1, 2, 3, 5, 16}) {
      const auto o = iota_order(n);
      std::map<std::int64_t, int> seen, seen_padded;
      std::size_t padded_total = 0;
      for (int r = 0; r < world; ++r) {
        const auto p = shard_order(o, {r, world, true});
        CHECK(static_cast<std::int64_t>(p.size()) == (n + world - 1) / world);
        CHECK(static_cast<std::int64_t>(p.size()) == shard_size(n, {r, world, true}));
        padded_total += p.size();
        for (auto i : p) ++seen_padded[i];
        for (auto i : shard_order(o, {r, world, false})) ++seen[i];
      }
      INFO("n " << n << ", world " << world);
      // unpadded: every item exactly once
      CHECK(static_cast<std::int64_t>(seen.size()) == n);
      for (auto [i, c] : seen) CHECK(c == 1);
      // padded: every item, and only the first (padded_total - n) positions of the order twice or more
      CHECK(static_cast<std::int64_t>(seen_padded.size()) == n);
      std::size_t extra = 0;
      for (auto [i, c] : seen_padded) extra += static_cast<std::size_t>(c - 1);
      CHECK(extra == padded_total - static_cast<std::size_t>(n));
    }
}

TEST_CASE("shard_order names a bad rank or world size", "[shard]") {
  const auto o = iota_order(4);
  CHECK_THROWS_WITH(shard_order(o, {2, 2, true}), Catch::Contains("rank 2 is outside 0..1"));
  CHECK_THROWS_WITH(shard_order(o, {-1, 2, true}), Catch::Contains("rank -1"));
  CHECK_THROWS_WITH(shard_order(o, {0, 0, true}), Catch::Contains("got 0"));
}

TEST_CASE("sharded loaders: batch k of every rank together is batch k of one process with world * bs",
          "[shard]") {
  TempDir dir;
  test::write_colour_dataset(dir.path(), 11, 5);  // 33 train items (uneven for 2 ranks), 15 valid
  const int world = 2;
  const std::int64_t bs = 4;
  auto single = test::colour_dls(dir.path(), world * bs, 0, 7);
  std::vector<DataLoaders> ranks;
  for (int r = 0; r < world; ++r) ranks.push_back(test::colour_dls(dir.path(), bs, 0, 7).shard(r, world));

  for (int epoch = 0; epoch < 2; ++epoch) {
    INFO("epoch " << epoch);
    // train: 33 items padded to 34, 17 per rank, drop_last: 4 batches of 4 per rank, 4 of 8 alone
    std::vector<std::vector<std::vector<std::int64_t>>> got(world);
    for (int r = 0; r < world; ++r) {
      CHECK(ranks[static_cast<std::size_t>(r)].train.n_batches() == 4);
      for (const auto& b : ranks[static_cast<std::size_t>(r)].train) got[static_cast<std::size_t>(r)].push_back(b.idxs);
    }
    std::int64_t k = 0;
    for (const auto& b : single.train) {
      std::vector<std::int64_t> joined;
      for (std::size_t j = 0; j < static_cast<std::size_t>(bs); ++j)
        for (int r = 0; r < world; ++r) joined.push_back(got[static_cast<std::size_t>(r)][static_cast<std::size_t>(k)][j]);
      CHECK(joined == b.idxs);
      ++k;
    }
    CHECK(k == 4);
  }
  // valid: not padded, each item once over the ranks
  std::vector<std::int64_t> valid;
  for (int r = 0; r < world; ++r) {
    CHECK(ranks[static_cast<std::size_t>(r)].valid.shard_spec().rank == r);
    for (const auto& b : ranks[static_cast<std::size_t>(r)].valid) valid.insert(valid.end(), b.idxs.begin(), b.idxs.end());
  }
  std::sort(valid.begin(), valid.end());
  CHECK(valid == iota_order(15, 0));
}

TEST_CASE("a sharded loader starts at the epoch its original had reached", "[shard]") {
  TempDir dir;
  test::write_colour_dataset(dir.path(), 4, 2);
  auto dls = test::colour_dls(dir.path(), 2, 0, 3);
  dls.train.set_epoch(5);
  const auto sharded = dls.shard(1, 2);
  CHECK(sharded.train.epoch() == 5);
  CHECK(sharded.train.order(5) == shard_order(dls.train.order(5), {1, 2, true}));
  CHECK(dls.train.n_batches() == 6);  // the original is untouched
}
