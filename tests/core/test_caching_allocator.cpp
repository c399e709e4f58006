// The device memory cache (core/caching_allocator.hpp) over a counting fake device in host memory: the
// same bookkeeping runs over cudaMalloc/cudaFree in src/cuda/runtime.cu.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fastpp/core/caching_allocator.hpp>

using namespace fastpp;

namespace caching_test {
// A device of `capacity` bytes: counts its allocations and frees, and notes frees of blocks it never gave.
struct FakeDevice {
  std::size_t capacity = std::size_t{1} << 40;
  std::size_t in_use = 0, allocations = 0, releases = 0, bad_releases = 0;
  std::unordered_map<void*, std::size_t> blocks;
  std::mutex mutex;
};
struct FakeRaw {
  FakeDevice* device;
  void* allocate(std::size_t bytes) {
    std::lock_guard lock(device->mutex);
    if (bytes == 1000 * CachingAllocator<FakeRaw>::small_step) throw Error("fake device: broken");
    if (device->in_use + bytes > device->capacity) return nullptr;
    void* p = std::malloc(bytes);
    device->blocks.emplace(p, bytes);
    device->in_use += bytes;
    ++device->allocations;
    return p;
  }
  void release(void* p) noexcept {
    std::lock_guard lock(device->mutex);
    const auto it = device->blocks.find(p);
    if (it == device->blocks.end()) {
      ++device->bad_releases;
      return;
    }
    device->in_use -= it->second;
    device->blocks.erase(it);
    std::free(p);
    ++device->releases;
  }
};
using Cache = CachingAllocator<FakeRaw>;
}  // namespace caching_test

using caching_test::Cache;
using caching_test::FakeDevice;
using caching_test::FakeRaw;

TEST_CASE("caching allocator: size classes cover the request with little waste", "[allocator]") {
  CHECK(Cache::size_class(0) == 512);
  CHECK(Cache::size_class(1) == 512);
  CHECK(Cache::size_class(512) == 512);
  CHECK(Cache::size_class(513) == 1024);
  CHECK(Cache::size_class(std::size_t{1} << 20) == (std::size_t{1} << 20));
  // from 1 MiB up, the cpu cache's classes: a sixteenth of the power of two
  CHECK(Cache::size_class((std::size_t{1} << 20) + 1) == (std::size_t{1} << 20) + (std::size_t{1} << 16));
  for (std::size_t bytes = 1; bytes < (std::size_t{1} << 34); bytes = bytes * 3 / 2 + 7) {
    const std::size_t c = Cache::size_class(bytes);
    INFO("bytes " << bytes << " -> class " << c);
    CHECK(c >= bytes);
    CHECK(c <= bytes + bytes / 16 + 512);
    CHECK(Cache::size_class(c) == c);  // a class is its own class: a cached block serves its whole class
  }
}

TEST_CASE("caching allocator: only the first training step reaches the device", "[allocator]") {
  FakeDevice device;
  {
    Cache cache(FakeRaw{&device});
    const std::vector<std::size_t> step_sizes = {100, 3000, 5u << 20, 100, 40000};
    for (int step = 0; step < 4; ++step) {
      std::vector<void*> blocks;
      for (std::size_t s : step_sizes) blocks.push_back(cache.allocate(s));
      for (void* p : blocks) CHECK(cache.release(p));
      INFO("step " << step);
      CHECK(device.allocations == step_sizes.size());  // the first step's five, never more
    }
    const auto s = cache.stats();
    CHECK(s.misses == 5);
    CHECK(s.hits == 15);
    CHECK(s.live_blocks == 0);
    CHECK(s.live_bytes == 0);
    CHECK(s.cached_blocks == 5);
    CHECK(s.cached_bytes == device.in_use);
    CHECK(device.releases == 0);
  }
  CHECK(device.in_use == 0);  // the destructor gave the cached blocks back
  CHECK(device.releases == 5);
  CHECK(device.bad_releases == 0);
}

TEST_CASE("caching allocator: nearby sizes share a block, other classes do not", "[allocator]") {
  FakeDevice device;
  Cache cache(FakeRaw{&device});
  void* a = cache.allocate(5'000'000);
  REQUIRE(cache.release(a));
  CHECK(cache.allocate(5'000'100) == a);  // the same class
  CHECK(device.allocations == 1);
  void* b = cache.allocate(6'000'000);  // another class: a new block although a is in use
  CHECK(b != a);
  CHECK(device.allocations == 2);
  CHECK(cache.release(a));
  CHECK(cache.release(b));
  CHECK(cache.release_cached() == Cache::size_class(5'000'000) + Cache::size_class(6'000'000));
  CHECK(device.in_use == 0);
  CHECK(cache.stats().cached_blocks == 0);
}

TEST_CASE("caching allocator: a released block goes back to its own stream only", "[allocator]") {
  FakeDevice device;
  Cache cache(FakeRaw{&device});
  int s1 = 0, s2 = 0;  // two streams' keys
  void* a = cache.allocate(5'000'000, &s1);
  REQUIRE(cache.release(a));
  void* b = cache.allocate(5'000'000, &s2);  // another stream: s1's block may still be read by s1's work
  CHECK(b != a);
  CHECK(device.allocations == 2);
  CHECK(cache.allocate(5'000'000, &s1) == a);  // its own stream: reused, ordered after its earlier work
  void* c = cache.allocate(5'000'000);        // the default stream is a stream of its own too
  CHECK(c != a);
  CHECK(c != b);
  CHECK(device.allocations == 3);
  CHECK(cache.release(a));
  CHECK(cache.release(b));
  CHECK(cache.release(c));
  CHECK(cache.allocate(5'000'000, &s2) == b);  // after release, s2 gets its own block back
  CHECK(cache.release(b));
  CHECK(cache.stats().cached_blocks == 3);
  CHECK(cache.release_cached() == 3 * Cache::size_class(5'000'000));  // every stream's blocks
  CHECK(device.in_use == 0);
}

TEST_CASE("caching allocator: out of memory frees the cache and tries again, then names the sizes", "[allocator]") {
  FakeDevice device;
  device.capacity = 4u << 20;
  Cache cache(FakeRaw{&device});
  void* a = cache.allocate(3u << 20);
  REQUIRE(cache.release(a));  // 3 MiB cached: a 2 MiB request does not fit beside it
  void* b = cache.allocate(2u << 20);
  REQUIRE(b != nullptr);
  CHECK(device.releases == 1);
  CHECK(cache.stats().cached_bytes == 0);
  CHECK(cache.stats().raw_allocations == 2);
  // 3 MiB more cannot fit beside the live 2 MiB, cache or not
  CHECK_THROWS_WITH(cache.allocate(3u << 20), Catch::Contains("out of device memory: 3145728 bytes") &&
                                                  Catch::Contains("2097152 bytes in use by 1 live blocks"));
  CHECK(cache.stats().live_blocks == 1);
  CHECK(cache.release(b));
}

TEST_CASE("caching allocator: other device errors pass through, foreign pointers are refused", "[allocator]") {
  FakeDevice device;
  Cache cache(FakeRaw{&device});
  CHECK_THROWS_WITH(cache.allocate(1000 * Cache::small_step), "fake device: broken");
  CHECK(cache.stats().live_blocks == 0);
  int not_a_block = 0;
  CHECK_FALSE(cache.release(&not_a_block));
  CHECK_FALSE(cache.release(nullptr));
  void* p = cache.allocate(64);
  CHECK(cache.release(p));
  CHECK_FALSE(cache.release(p));  // a second release of the same block
  CHECK(cache.stats().cached_blocks == 1);
  CHECK(device.bad_releases == 0);
}

TEST_CASE("caching allocator: threads allocating and releasing at once keep the books straight", "[allocator]") {
  FakeDevice device;
  {
    Cache cache(FakeRaw{&device});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&cache, t] {
        for (int i = 0; i < 2000; ++i) {
          void* p = cache.allocate(static_cast<std::size_t>(512 * (1 + (i + t) % 7)));
          if (!cache.release(p)) std::abort();
        }
      });
    }
    for (auto& th : threads) th.join();
    const auto s = cache.stats();
    CHECK(s.live_blocks == 0);
    CHECK(s.hits + s.misses == 8000);
    CHECK(s.raw_allocations == s.misses);
    CHECK(s.cached_blocks == device.blocks.size());
    CHECK(s.raw_allocations <= 4 * 7);  // at most one block per class per thread at a time
  }
  CHECK(device.in_use == 0);
  CHECK(device.bad_releases == 0);
}
