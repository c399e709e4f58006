// The cpu optimizer kernels on their own: the loss scaler's unscale-and-check, and the same bits for any
// thread count when a large parameter is split over the compute pool.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <fastpp/backend/cpu/optim_kernels.hpp>
#include <fastpp/core/rng.hpp>
#include <fastpp/core/thread_pool.hpp>

#include <catch2/catch.hpp>

using namespace fastpp;
using K = backend::optim_kernels<cpu>;

namespace {
std::vector<float> draws(std::int64_t n, std::uint64_t seed, float scale) {
  Rng rng(seed);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = scale * (2.0f * rng.uniform() - 1.0f);
  return v;
}
// Restores the thread count a test changed.
struct Threads {
  int before = get_num_threads();
  ~Threads() { set_num_threads(before); }
};
}  // namespace

TEST_CASE("unscale_and_check_finite scales in place and finds any inf or NaN, wherever it is") {
  Threads keep;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (std::int64_t n : {1, 7, 33, 300'001}) {  // tails of the vector loop and several chunks
      const auto g = draws(n, 3, 100.0f);
      auto h = g;
      CHECK(K::unscale_and_check_finite(h.data(), n, 0.25f));
      auto want = g;
      for (auto& x : want) x *= 0.25f;
      CHECK(h == want);
      for (float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                        std::numeric_limits<float>::quiet_NaN()}) {
        for (std::int64_t at : {std::int64_t{0}, n / 2, n - 1}) {
          auto b = g;
          b[static_cast<std::size_t>(at)] = bad;
          INFO("threads " << threads << ", n " << n << ", bad value " << bad << " at " << at);
          CHECK_FALSE(K::unscale_and_check_finite(b.data(), n, 1.0f / 65536));
        }
      }
    }
  }
  // a finite gradient that overflows once scaled is reported too (what the optimizer would read)
  std::vector<float> big{3e38f, 1.0f};
  CHECK_FALSE(K::unscale_and_check_finite(big.data(), 2, 2.0f));
  std::vector<float> empty;
  CHECK(K::unscale_and_check_finite(empty.data(), 0, 0.5f));
}

TEST_CASE("Adam and SGD steps give the same bits with 1 and 2 threads") {
  Threads keep;
  const std::int64_t n = 1'000'003;  // about 16 chunks, the last one short
  const auto p0 = draws(n, 1, 1.0f), g = draws(n, 2, 0.1f);
  auto run = [&](int threads) {
    set_num_threads(threads);
    auto p = p0;
    std::vector<float> ga(p.size(), 0.0f), sa(p.size(), 0.0f), mom(p.size(), 0.0f), q = p0;
    for (int step = 1; step <= 3; ++step) {
      K::adam_step(p.data(), g.data(), ga.data(), sa.data(), n, 1e-3, 0.9, 0.99, 1e-5, 0.01, true,
                   1 - std::pow(0.9, step), 1 - std::pow(0.99, step));
      K::sgd_step(q.data(), g.data(), mom.data(), n, 1e-2, 0.9, 1e-4, false);
    }
    return std::vector<std::vector<float>>{p, q, sa};
  };
  const auto one = run(1), two = run(2);
  for (std::size_t k = 0; k < one.size(); ++k) {
    INFO("array " << k);
    CHECK(std::memcmp(one[k].data(), two[k].data(), one[k].size() * sizeof(float)) == 0);
    CHECK(one[k] != p0);
  }
}

TEST_CASE("SGD without momentum state is p -= lr * g after decoupled weight decay") {
  std::vector<float> p{1.0f, -2.0f}, g{0.5f, 0.25f};
  K::sgd_step(p.data(), g.data(), nullptr, 2, 0.1, 0.0, 0.5, true);
  CHECK(p[0] == static_cast<float>(1.0f * 0.95f - 0.1f * 0.5f));
  CHECK(p[1] == static_cast<float>(-2.0f * 0.95f - 0.1f * 0.25f));
  std::vector<float> z{1.0f, 2.0f, 3.0f};
  K::zero(z.data(), 3);
  CHECK(z == std::vector<float>{0.0f, 0.0f, 0.0f});
}
