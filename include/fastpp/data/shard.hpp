#pragma once
// One process's share of an epoch in data-parallel training, as PyTorch's DistributedSampler cuts it.
// Every process computes the same epoch order (same seed, same epoch), pads it to a multiple of the
// number of processes by repeating its first items, and takes every world-th position starting at its
// rank: the shards never overlap (apart from the repeated padding), together they cover the epoch, and
// every process gets the same count, so all of them run the same number of steps. The order is kept
// within a shard, so with per-process batch b, the b-th batches of all ranks together hold exactly the
// items of batch k of a single process with batch world*b (the equivalence the MPI tests check).
// Pure functions of their arguments, no MPI: the loader shards with them (DataLoaderOf::shard).
#include <cstdint>
#include <vector>

#include "../core/error.hpp"

namespace fastpp {

struct ShardSpec {
  int rank = 0;
  int world = 1;
  // Pad to a multiple of world (training: every rank the same number of steps). Without padding the
  // first n % world ranks get one item more (validation: every item counted once in the reduced metric).
  bool pad = true;
};

inline void check_shard(const ShardSpec& s) {
  check<ValueError>(s.world >= 1, "shard: the number of processes must be 1 or more, got ", s.world);
  check<ValueError>(s.rank >= 0 && s.rank < s.world, "shard: rank ", s.rank, " is outside 0..", s.world - 1);
}

// How many items a rank gets from an epoch of n items.
inline std::int64_t shard_size(std::int64_t n, const ShardSpec& s) {
  check_shard(s);
  const std::int64_t w = s.world;
  if (s.pad) return (n + w - 1) / w;
  return n / w + (s.rank < n % w ? 1 : 0);
}

// The rank's items of an epoch whose (shuffled) order is `order`.
inline std::vector<std::int64_t> shard_order(const std::vector<std::int64_t>& order, const ShardSpec& s) {
  const auto n = static_cast<std::int64_t>(order.size());
  const std::int64_t count = shard_size(n, s);
  std::vector<std::int64_t> out;
  out.reserve(static_cast<std::size_t>(count));
  // Position p of the padded order is order[p % n]: the padding repeats the epoch from its start, as
  // many times as needed (more ranks than items).
  for (std::int64_t k = 0; k < count; ++k) {
    const std::int64_t p = s.rank + k * s.world;
    out.push_back(order[static_cast<std::size_t>(p % n)]);
  }
  return out;
}

}  // namespace fastpp
