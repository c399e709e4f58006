// Rng's random access (drawn, block_at, u32_at, uniform_at, discard) against its sequential draws: the
// CUDA dropout kernel draws element i with uniform_at(i), and must take the cpu's numbers exactly.
#include <catch2/catch.hpp>
#include <cstdint>
#include <fastpp/core/rng.hpp>
#include <vector>

namespace rng_random_access_test {

// The next n numbers of r by sequential draws (r is a copy: the caller's position stays).
inline std::vector<std::uint32_t> sequential(fastpp::Rng r, int n) {
  std::vector<std::uint32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(r.next_u32());
  return out;
}

}  // namespace rng_random_access_test

TEST_CASE("Rng::u32_at and uniform_at give the sequential draws without advancing", "[rng]") {
  using rng_random_access_test::sequential;
  // every position within a block (0..3 taken of it) and across several blocks
  for (int taken = 0; taken < 11; ++taken) {
    fastpp::Rng r = fastpp::Rng(1234, 77).fork(9);
    for (int i = 0; i < taken; ++i) (void)r.next_u32();
    INFO("after " << taken << " draws");
    CHECK(r.drawn() == static_cast<std::uint64_t>(taken));
    const auto expect = sequential(r, 37);
    for (int k = 0; k < 37; ++k) {
      CHECK(r.u32_at(static_cast<std::uint64_t>(k)) == expect[static_cast<std::size_t>(k)]);
      CHECK(r.uniform_at(static_cast<std::uint64_t>(k)) == fastpp::u32_to_unit_float(expect[static_cast<std::size_t>(k)]));
    }
    CHECK(r.drawn() == static_cast<std::uint64_t>(taken));  // no draw moved it
    CHECK(sequential(r, 37) == expect);
    // uniform() takes the same numbers as uniform_at
    fastpp::Rng u = r;
    for (int k = 0; k < 9; ++k) CHECK(u.uniform() == r.uniform_at(static_cast<std::uint64_t>(k)));
  }
}

TEST_CASE("Rng::block_at is the stream's b-th block and discard(k) equals k draws", "[rng]") {
  using rng_random_access_test::sequential;
  const fastpp::Rng base(99, 3);
  fastpp::Rng s = base;
  for (std::uint64_t b = 0; b < 5; ++b) {
    const fastpp::Philox4x32Block blk = base.block_at(b);
    for (int i = 0; i < 4; ++i) CHECK(s.next_u32() == blk.v[i]);
  }
  for (int taken = 0; taken < 6; ++taken)
    for (std::uint64_t k = 0; k < 14; ++k) {
      fastpp::Rng a = base, b = base;
      for (int i = 0; i < taken; ++i) {
        (void)a.next_u32();
        (void)b.next_u32();
      }
      for (std::uint64_t i = 0; i < k; ++i) (void)a.next_u32();
      b.discard(k);
      INFO("taken " << taken << ", discard " << k);
      CHECK(b.drawn() == a.drawn());
      CHECK(b.position() == a.position());
      CHECK(sequential(b, 10) == sequential(a, 10));
    }
  // far ahead, past 2^32 blocks: the counter's high word is used
  fastpp::Rng far = base;
  const std::uint64_t m = (std::uint64_t{1} << 34) + 6;  // block 2^32 + 1, lane 2
  far.discard(m);
  CHECK(far.drawn() == m);
  const fastpp::Philox4x32Block blk = fastpp::philox4x32_10({{1, 1, 3, 0}}, 99, 0);
  CHECK(far.next_u32() == blk.v[2]);
  CHECK(base.u32_at(m + 1) == blk.v[3]);
}
