// Runs on a GPU machine only; elsewhere the whole executable exits with the skip code (4).
#include <catch2/catch.hpp>
#include <fastpp/backend/cuda/stream.hpp>
#include <fastpp/core.hpp>

using namespace fastpp;

TEST_CASE("tensors round-trip through device memory", "[cuda]") {
  auto h = Tensor<float>::from({2, 3}, {1, 2, 3, 4, 5, 6});
  auto d = h.to<cuda>();
  CHECK(d.shape() == h.shape());
  auto d2 = d.clone();
  auto back = d2.to<cpu>();
  CHECK(allclose(back, h, 0, 0));
  auto hh = Tensor<half>::from({2}, {half(1.5f), half(-2.0f)}).to<cuda>().to<cpu>();
  CHECK(static_cast<float>(hh(1)) == -2.0f);
}

TEST_CASE("a large copy to the device goes through the staging buffers whole", "[cuda]") {
  // 40 MiB + 12 bytes: three staging chunks, the last partial; the source is overwritten as soon as the
  // copy returns, which must not reach the device (the bytes were staged before the call returned).
  const std::int64_t n = (std::int64_t{40} << 18) + 3;
  auto h = Tensor<float>::empty({n});
  for (std::int64_t i = 0; i < n; ++i) h.data()[i] = static_cast<float>(i % 100003);
  auto d = h.to<cuda>();
  for (std::int64_t i = 0; i < n; ++i) h.data()[i] = -1.0f;
  const auto back = d.to<cpu>();
  std::int64_t bad = 0;
  for (std::int64_t i = 0; i < n; ++i) bad += back.data()[i] != static_cast<float>(i % 100003);
  CHECK(bad == 0);
  // and again on a stream of its own, twice in a row (both staging buffers reused)
  cuda_runtime::Stream s;
  cuda_runtime::StreamGuard on(s);
  for (int round = 0; round < 2; ++round) {
    for (std::int64_t i = 0; i < n; ++i) h.data()[i] = static_cast<float>((i + round) % 7);
    auto d2 = h.to<cuda>();
    const auto b2 = d2.to<cpu>();
    bad = 0;
    for (std::int64_t i = 0; i < n; ++i) bad += b2.data()[i] != static_cast<float>((i + round) % 7);
    CHECK(bad == 0);
  }
}
