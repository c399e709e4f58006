// Runs on a GPU machine only. The cuda allocator goes through the caching allocator: a second step of the
// same sizes is served from the cache, so cudaMalloc is called in the first step only.
#include <catch2/catch.hpp>
#include <fastpp/core.hpp>

using namespace fastpp;

TEST_CASE("cuda tensors of a repeated step reuse cached device memory", "[cuda]") {
  cuda_runtime::release_cached();
  const auto before = cuda_runtime::cache_stats();
  auto step = [] {
    auto a = Tensor<float>::zeros({256, 1000}).to<cuda>();
    auto b = Tensor<float>::zeros({7}).to<cuda>();
    auto c = a.clone();
    CHECK(c.to<cpu>()(255, 999) == 0.0f);
  };
  step();
  const auto first = cuda_runtime::cache_stats();
  CHECK(first.raw_allocations - before.raw_allocations == 3);  // a and c share a class but are live together
  CHECK(first.live_blocks == before.live_blocks);
  for (int i = 0; i < 3; ++i) step();
  const auto later = cuda_runtime::cache_stats();
  CHECK(later.raw_allocations == first.raw_allocations);
  CHECK(later.hits - first.hits == 9);
  CHECK(cuda_runtime::release_cached() == later.cached_bytes);
  CHECK(cuda_runtime::cache_stats().cached_blocks == 0);
}

TEST_CASE("an impossible cuda allocation names the sizes", "[cuda]") {
  CHECK_THROWS_WITH(cuda_runtime::allocate(std::size_t{1} << 50),
                    Catch::Contains("out of device memory: 1125899906842624 bytes"));
  // the failure is cleared: the next call works
  auto t = Tensor<float>::from({2}, {1, 2}).to<cuda>().to<cpu>();
  CHECK(t(1) == 2.0f);
}
