// The window arithmetic of backend/pool_window.hpp that the CUDA pooling kernels run (their backward
// gathers each input over the outputs whose windows hold it): the cover ranges against a brute-force
// search over the forward's windows.
#include <catch2/catch.hpp>
#include <cstdint>
#include <fastpp/backend/pool_window.hpp>

TEST_CASE("adaptive pooling's cover ranges are exactly the windows that hold an input", "[pool]") {
  using namespace fastpp::backend;
  for (std::int64_t in = 1; in <= 23; ++in)
    for (std::int64_t out = 1; out <= 23; ++out)
      for (std::int64_t p = 0; p < in; ++p) {
        const std::int64_t first = adaptive_first_cover(p, in, out), end = adaptive_end_cover(p, in, out);
        INFO("in " << in << ", out " << out << ", p " << p);
        REQUIRE(0 <= first);
        REQUIRE(first < end);
        REQUIRE(end <= out);
        for (std::int64_t o = 0; o < out; ++o) {
          const bool holds = adaptive_start(o, in, out) <= p && p < adaptive_end(o, in, out);
          CHECK(holds == (first <= o && o < end));
        }
      }
}

TEST_CASE("sliding windows' cover ranges are exactly the windows that hold an input", "[pool]") {
  using namespace fastpp::backend;
  for (std::int64_t in = 1; in <= 13; ++in)
    for (std::int64_t k = 1; k <= 5; ++k)
      for (std::int64_t stride = 1; stride <= 4; ++stride)
        for (std::int64_t pad = 0; pad <= k / 2; ++pad) {
          const std::int64_t out = (in + 2 * pad - k) / stride + 1;
          if (out < 1) continue;
          for (std::int64_t p = 0; p < in; ++p) {
            const std::int64_t first = window_first_cover(p, k, stride, pad), end = window_end_cover(p, stride, pad, out);
            INFO("in " << in << ", k " << k << ", stride " << stride << ", pad " << pad << ", p " << p);
            for (std::int64_t o = 0; o < out; ++o) {
              const bool holds = o * stride - pad <= p && p < o * stride - pad + k;
              CHECK(holds == (first <= o && o < end));
            }
          }
        }
  CHECK(floor_div(-7, 3) == -3);
  CHECK(floor_div(-6, 3) == -2);
  CHECK(floor_div(7, 3) == 2);
  CHECK(floor_div(0, 5) == 0);
}
