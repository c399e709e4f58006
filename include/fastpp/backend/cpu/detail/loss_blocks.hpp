#pragma once
// How the cpu loss kernels split rows over threads, and which row code they run.
//
// Rows go in blocks whose size depends only on the row length, never on the thread count; each block sums
// its rows' losses in double and the blocks' sums are added in block order. So a reduced loss has the same
// bits with 1 thread or 16, and a small batch (one block) never wakes the pool.
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "../../../core/thread_pool.hpp"
#include "cpu_isa.hpp"
#include "loss_rows.hpp"
#include "loss_rows_avx2.hpp"

namespace fastpp::backend::cpu_detail {

// Whether float rows run the AVX2 kernels: the CPU's answer, asked once. A test may set it to false to run
// the portable kernels on an AVX2 host (and must set it back).
inline bool& loss_use_avx2() {
  static bool use = cpu_has_avx2_fma();
  return use;
}

// The one place that picks the row code for rows of n values: f(Avx2{}) or f(Portable{}) (double rows,
// other CPUs, and rows shorter than one vector).
template <class A, class F>
void with_row_ops(std::int64_t n, F&& f) {
#if defined(FASTPP_LOSS_AVX2)
  if constexpr (std::is_same_v<A, float>)
    if (loss_use_avx2() && n >= 8) return f(Avx2{});
#endif
  f(Portable{});
}

struct BlockSums {
  double a = 0, b = 0;
};

// Calls body(row_begin, row_end) -> BlockSums for each block, in parallel; returns the sums in block order.
// A block holds about 64 KiB of float logits: enough work to be worth handing to another thread.
template <class Body>
BlockSums for_row_blocks(std::int64_t rows, std::int64_t row_length, Body&& body) {
  if (rows <= 0) return {};
  const std::int64_t per = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(row_length, 1));
  const std::int64_t blocks = (rows + per - 1) / per;
  if (blocks == 1) return body(std::int64_t{0}, rows);
  std::vector<BlockSums> sums(static_cast<std::size_t>(blocks));
  // balanced rather than equal shares: on a shared machine one core can be much slower for a while
  fastpp::parallel_for_balanced(0, blocks, [&](std::int64_t blk) {
    sums[static_cast<std::size_t>(blk)] = body(blk * per, std::min(rows, blk * per + per));
  });
  BlockSums total;
  for (const auto& s : sums) total.a += s.a, total.b += s.b;
  return total;
}

// Short rows go through each step in groups of 8 (all 8 maxima, then all 8 sums of exp, ...): the steps
// of one row wait on each other (a horizontal maximum, a sum, a log), the same step of 8 rows does not, so
// the CPU overlaps them (3x faster at 37 classes). Long rows go one at a time and stay in L1.
inline constexpr int max_group = 8;

// f(first_row, count, sums) for groups of rows within the blocks; returns the sums in block order.
// (Kernels without sums ignore the last argument.)
template <class F>
BlockSums for_row_groups(std::int64_t rows, std::int64_t row_length, F&& f) {
  const std::int64_t g = row_length > 128 ? 1 : max_group;
  return for_row_blocks(rows, row_length, [&](std::int64_t r0, std::int64_t r1) {
    BlockSums sums;
    for (std::int64_t i = r0; i < r1; i += g) f(i, static_cast<int>(std::min(g, r1 - i)), sums);
    return sums;
  });
}

// The maxima, then the sums of exp(x - max), of `count` rows of n values (exp stored in e's rows when e
// is not null).
template <class Ops, class A>
void group_stats(const A* x, std::int64_t n, int count, std::type_identity_t<A>* e, bool want_shifted, RowStats<A>* st) {
  for (int r = 0; r < count; ++r) st[r].max = Ops::row_max(x + r * n, n);
  for (int r = 0; r < count; ++r) Ops::exp_sums(x + r * n, n, e ? e + r * n : nullptr, want_shifted, st[r]);
}

}  // namespace fastpp::backend::cpu_detail
