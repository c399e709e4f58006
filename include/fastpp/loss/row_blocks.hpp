#pragma once
// How the CPU drivers split N rows over threads. Rows are grouped in blocks whose size depends only on
// the row length, never on the thread count; each block sums its rows' losses in double, and the blocks'
// sums are added in block order. So a reduced loss has the same bits with 1 thread or 16, and a small
// batch (one block) never pays for waking the pool.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "../core/thread_pool.hpp"

namespace fastpp::loss_detail {

// About 64 KiB of float logits per block: enough work to amortise handing it to another thread. A whole
// number of 8-row groups when a row is short, so the groups of every block start where they would in one
// long run (the AVX2 kernels rely on it for aligned stores).
inline std::int64_t rows_per_block(std::int64_t row_length) {
  const std::int64_t rows = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(row_length, 1));
  return rows >= 8 ? rows - rows % 8 : rows;
}

// Two running sums per block (e.g. the loss and the smoothing term).
struct BlockSums {
  double a = 0, b = 0;
};

// Calls body(row_begin, row_end) -> BlockSums for each block, in parallel; returns the sums in block order.
template <class Body>
BlockSums for_row_blocks(std::int64_t rows, std::int64_t row_length, Body&& body) {
  if (rows <= 0) return {};
  const std::int64_t per = rows_per_block(row_length);
  const std::int64_t blocks = (rows + per - 1) / per;
  if (blocks == 1) return body(std::int64_t{0}, rows);
  std::vector<BlockSums> sums(static_cast<std::size_t>(blocks));
  // Balanced rather than equal shares: on a shared machine one core can run much slower than the other
  // for a while. Each block's sums have their own slot, so the order they are added in stays fixed.
  fastpp::parallel_for_balanced(0, blocks, [&](std::int64_t blk) {
    sums[static_cast<std::size_t>(blk)] = body(blk * per, std::min(rows, blk * per + per));
  });
  BlockSums total;
  for (const auto& s : sums) {
    total.a += s.a;
    total.b += s.b;
  }
  return total;
}

}  // namespace fastpp::loss_detail
