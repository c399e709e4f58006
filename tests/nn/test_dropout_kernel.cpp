// The cpu dropout kernel draws element i from the i-th number of the stream from its position, whatever the
// threads: each chunk of its parallel loop starts its copy of the stream with Rng::discard. Against a
// sequential loop of uniform() draws, with one thread and with four (several chunks).
#include <catch2/catch.hpp>
#include <cstdint>
#include <fastpp/backend/cpu/layer_kernels.hpp>
#include <fastpp/core/rng.hpp>
#include <fastpp/core/thread_pool.hpp>
#include <vector>

TEST_CASE("cpu dropout draws the stream's numbers in element order for any thread count", "[dropout]") {
  const int before = fastpp::get_num_threads();
  for (int threads : {1, 4}) {
    fastpp::set_num_threads(threads);
    for (int drawn : {0, 3, 6}) {
      const std::int64_t n = 200003;  // several chunks of elementwise_grain
      const float p = 0.3f, scale = 1.0f / (1.0f - p);
      fastpp::Rng rng = fastpp::Rng(5, 6).fork(7);
      for (int k = 0; k < drawn; ++k) (void)rng.next_u32();
      std::vector<float> x(static_cast<std::size_t>(n)), y(x.size()), mask(x.size());
      for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 13) - 6.0f;
      fastpp::backend::layer_kernels<fastpp::cpu>::dropout_forward(x.data(), n, p, rng, y.data(), mask.data());
      fastpp::Rng seq = rng;
      std::size_t bad = 0;
      for (std::size_t i = 0; i < x.size(); ++i) {
        const float m = seq.uniform() < p ? 0.0f : scale;
        bad += mask[i] != m || y[i] != x[i] * m;
      }
      INFO(threads << " threads, " << drawn << " drawn before");
      CHECK(bad == 0);
    }
  }
  fastpp::set_num_threads(before);
}
