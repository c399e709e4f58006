// The cpu's cache of freed large blocks (core/block_cache.hpp): exact-size reuse, its limit, and tensors
// going through it.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <thread>
#include <vector>

#include <fastpp/core.hpp>

using namespace fastpp;

TEST_CASE("a block cache gives back a kept block of exactly the size asked for, within its limit", "[allocator]") {
  BlockCache cache(3u << 20);
  void* a = std::malloc(1u << 20);
  void* b = std::malloc(2u << 20);
  REQUIRE(cache.keep(a, 1u << 20));
  REQUIRE(cache.keep(b, 2u << 20));
  void* c = std::malloc(1u << 20);
  CHECK_FALSE(cache.keep(c, 1u << 20));  // 4 MiB would be over the 3 MiB limit: the caller frees it
  std::free(c);
  CHECK(cache.stats().held_bytes == (3u << 20));
  CHECK(cache.stats().held_blocks == 2);

  CHECK(cache.take((1u << 20) + 64) == nullptr);  // sizes match exactly or not at all
  CHECK(cache.take(2u << 20) == b);
  CHECK(cache.take(2u << 20) == nullptr);
  std::free(b);
  const auto s = cache.stats();
  CHECK(s.hits == 1);
  CHECK(s.misses == 2);
  CHECK(s.held_bytes == (1u << 20));

  cache.set_limit(0);  // lowering the limit below what is held gives everything back
  CHECK(cache.stats().held_blocks == 0);
  CHECK(cache.stats().held_bytes == 0);
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
  // a small tensor never goes through the cache
  { auto small = Tensor<float>::zeros({1000}); }
  CHECK(cpu_block_cache().stats().misses == after.misses);
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
