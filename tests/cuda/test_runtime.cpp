// Runs on a GPU machine only; elsewhere the whole executable exits with the skip code (4).
#include <catch2/catch.hpp>
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
