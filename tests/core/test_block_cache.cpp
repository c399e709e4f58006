// The cpu's cache of freed large blocks (core/block_cache.hpp): exact-size reuse, its limit, and tensors
// going through it.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <thread>
#include <vector>

#include <fastpp/core.hpp>

using namespace fastpp;

TEST_CASE("a block cache gives back a kept block of exactly the size asked for", "[allocator]") {
  BlockCache cache(8u << 20);
  void* a = std::malloc(1u << 20);
  void* b = std::malloc(2u << 20);
  REQUIRE(cache.keep(a, 1u << 20));
  REQUIRE(cache.keep(b, 2u << 20));
  CHECK(cache.stats().held_bytes == (3u << 20));
  CHECK(cache.stats().held_blocks == 2);
  CHECK(cache.take((1u << 20) + 64) == nullptr);  // the cache matches sizes exactly (the allocator rounds them)
  CHECK(cache.take(2u << 20) == b);
  CHECK(cache.take(2u << 20) == nullptr);
  std::free(b);
  const auto s = cache.stats();
  CHECK(s.hits == 1);
  CHECK(s.misses == 2);
  CHECK(s.held_bytes == (1u << 20));
  cache.set_limit(0);  // lowering the limit below what is held gives the blocks back
  CHECK(cache.stats().held_blocks == 0);
  CHECK(cache.stats().held_bytes == 0);
}

TEST_CASE("past its limit a block cache frees the blocks kept longest ago", "[allocator]") {
  BlockCache cache(3u << 20);
  void* a = std::malloc(1u << 20);
  void* b = std::malloc(2u << 20);
  void* c = std::malloc(1u << 20);
  REQUIRE(cache.keep(a, 1u << 20));
  REQUIRE(cache.keep(b, 2u << 20));
  REQUIRE(cache.keep(c, 1u << 20));  // 4 MiB would be over 3: a, the oldest, is freed
  CHECK(cache.stats().evicted == 1);
  CHECK(cache.stats().held_bytes == (3u << 20));
  CHECK(cache.take(1u << 20) == c);
  std::free(c);
  CHECK(cache.take(1u << 20) == nullptr);
  void* big = std::malloc(4u << 20);
  CHECK_FALSE(cache.keep(big, 4u << 20));  // larger than the whole limit: the caller frees it
  std::free(big);
  CHECK(cache.stats().held_blocks == 1);  // b is still there
}

TEST_CASE("size classes: 16 per power of two from 1 MiB, never below the request", "[allocator]") {
  CHECK(BlockCache::size_class(1000) == 1000);  // small blocks are not cached, not rounded
  CHECK(BlockCache::size_class(1u << 20) == (1u << 20));
  CHECK(BlockCache::size_class((1u << 20) + 1) == (1u << 20) + (64u << 10));
  CHECK(BlockCache::size_class(3u << 20) == (3u << 20));
  std::size_t previous = 0;
  for (std::size_t bytes = 1u << 20; bytes < (std::size_t{1} << 32); bytes = bytes * 9 / 8 + 4093) {
    const std::size_t c = BlockCache::size_class(bytes);
    CHECK(c >= bytes);
    CHECK(static_cast<double>(c) <= static_cast<double>(bytes) * 1.0625);
    CHECK(c >= previous);
    previous = c;
  }
}

TEST_CASE("a freed large tensor's memory serves the next tensor of its size", "[allocator][tensor]") {
  const bool on = cpu_block_cache().stats().limit_bytes > 0;  // off under AddressSanitizer or FASTPP_CPU_CACHE_MB=0
  const std::int64_t floats = (std::int64_t{3} << 20) / 4 + 5;  // 3 MiB and a bit: a size no other test uses
  const float* first = nullptr;
  {
    auto t = Tensor<float>::full({floats}, 1.0f);
    first = t.data();
  }
  const auto before = cpu_block_cache().stats();
  auto again = Tensor<float>::empty({floats});
  const auto after = cpu_block_cache().stats();
  CHECK((again.data() == first) == on);
  CHECK(after.hits == before.hits + (on ? 1 : 0));
  // a little larger, in the same size class: the same block again (decoded photos differ by a few rows)
  const float* second = again.data();
  again = Tensor<float>{};
  auto near = Tensor<float>::empty({floats + 1000});
  CHECK((near.data() == second) == on);
  // a small tensor never goes through the cache
  const auto before_small = cpu_block_cache().stats();
  { auto small = Tensor<float>::zeros({1000}); }
  CHECK(cpu_block_cache().stats().misses == before_small.misses);
  release_cached_memory();
  CHECK(cpu_block_cache().stats().held_bytes == 0);
}

TEST_CASE("FASTPP_CPU_CACHE_MB is read as mebibytes, and a bad value is an error that quotes it", "[allocator][env]") {
  ::setenv("FASTPP_CPU_CACHE_MB", "64", 1);
  CHECK(detail::cpu_cache_limit_from_env() == (detail::address_sanitizer ? 0u : std::size_t{64} << 20));
  if (!detail::address_sanitizer) {
    ::setenv("FASTPP_CPU_CACHE_MB", "lots", 1);
    CHECK_THROWS_WITH(detail::cpu_cache_limit_from_env(), Catch::Contains("FASTPP_CPU_CACHE_MB") && Catch::Contains("'lots'"));
    ::setenv("FASTPP_CPU_CACHE_MB", "-1", 1);
    CHECK_THROWS_WITH(detail::cpu_cache_limit_from_env(), Catch::Contains("'-1'"));
  }
  ::unsetenv("FASTPP_CPU_CACHE_MB");
}

TEST_CASE("threads allocating and freeing large tensors at once share the cache safely", "[allocator][threads]") {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < 50; ++i) {
        auto a = Tensor<float>::full({(std::int64_t{1} << 18) + (i % 3)}, static_cast<float>(t));
        auto b = Tensor<float>::empty({(std::int64_t{1} << 18) + (i % 3)});
        b.data()[0] = a.data()[(std::int64_t{1} << 18) - 1];
        REQUIRE(b.data()[0] == static_cast<float>(t));
      }
    });
  for (auto& th : threads) th.join();
  const auto s = cpu_block_cache().stats();
  CHECK(s.held_bytes <= s.limit_bytes);
}
