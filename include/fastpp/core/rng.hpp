#pragma once
// A counter-based random number generator: Philox4x32-10 (Salmon et al., SC'11, the generator of
// Random123, cuRAND and PyTorch's CUDA backend). The n-th number of a stream is a pure function of
// (seed, stream, n), so the CPU and a GPU draw the same augmentations, and the result never depends on
// how many threads drew numbers or in which order: each item or batch takes its own stream.
#include <cmath>
#include <cstdint>
#include <limits>

#include "error.hpp"
#include "host_device.hpp"

namespace fastpp {

struct Philox4x32Block {
  std::uint32_t v[4];
};

// One Philox4x32 block with 10 rounds: four 32-bit outputs for a 128-bit counter and a 64-bit key.
FASTPP_HD_INLINE constexpr Philox4x32Block philox4x32_10(Philox4x32Block ctr, std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;  // round multipliers
  constexpr std::uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;  // key schedule (golden ratio, sqrt(3)-1)
  for (int r = 0; r < 10; ++r) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(M0) * ctr.v[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(M1) * ctr.v[2];
    const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    ctr = Philox4x32Block{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
    k0 += W0;
    k1 += W1;
  }
  return ctr;
}

// Uniform float in [0, 1) from 32 random bits: the top 24 bits, so every value is exact in float.
FASTPP_HD_INLINE constexpr float u32_to_unit_float(std::uint32_t u) {
  return static_cast<float>(u >> 8) * (1.0f / 16777216.0f);
}

// A stream of random numbers: (seed, stream) pick the key and the high half of the counter, and the
// position advances the low half. Copying an Rng copies its position.
class Rng {
 public:
  FASTPP_HD constexpr explicit Rng(std::uint64_t seed = 0, std::uint64_t stream = 0)
      : seed_(seed), stream_(stream) {}

  // An independent stream derived from this generator's seed (e.g. one per item or per batch).
  FASTPP_HD constexpr Rng fork(std::uint64_t stream) const { return Rng(seed_, stream); }

  FASTPP_HD constexpr std::uint32_t next_u32() {
    if (index_ == 4) refill();
    return block_.v[index_++];
  }
  FASTPP_HD constexpr std::uint64_t next_u64() {
    const std::uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }
  // Uniform in [0, 1).
  FASTPP_HD constexpr float uniform() { return u32_to_unit_float(next_u32()); }
  // Uniform in [lo, hi).
  FASTPP_HD constexpr float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  // Uniform in [0, 1) with 53 random bits.
  FASTPP_HD constexpr double uniform_double() {
    return static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0);
  }
  // Standard normal (Box-Muller; one draw of two uniforms per value, so positions stay predictable).
  FASTPP_HD float normal() {
    const float u1 = 1.0f - uniform();  // (0, 1]: log is finite
    const float u2 = uniform();
    return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853071795864f * u2);
  }
  FASTPP_HD float normal(float mean, float stddev) { return mean + stddev * normal(); }
  // Uniform integer in [0, n), without modulo bias (Lemire's multiply-and-reject).
  FASTPP_HD constexpr std::uint32_t below(std::uint32_t n) {
    std::uint64_t m = static_cast<std::uint64_t>(next_u32()) * n;
    auto low = static_cast<std::uint32_t>(m);
    if (low < n) {
      const std::uint32_t threshold = static_cast<std::uint32_t>(-n) % n;
      while (low < threshold) {
        m = static_cast<std::uint64_t>(next_u32()) * n;
        low = static_cast<std::uint32_t>(m);
      }
    }
    return static_cast<std::uint32_t>(m >> 32);
  }
  FASTPP_HD constexpr bool bernoulli(float p) { return uniform() < p; }

  FASTPP_HD constexpr std::uint64_t seed() const { return seed_; }
  FASTPP_HD constexpr std::uint64_t stream() const { return stream_; }
  // Blocks of four numbers consumed so far.
  FASTPP_HD constexpr std::uint64_t position() const { return counter_; }

  // Random access into the stream, so many threads (or GPU threads) can draw what a sequential loop would:
  // drawn() numbers were taken so far (next_u32 returns the stream's number drawn() next, counting from 0),
  // block_at(b) is the stream's b-th block of four numbers (numbers 4b..4b+3), and u32_at(k) / uniform_at(k)
  // are the k-th number from the current position (k = 0: the next draw), without advancing.
  FASTPP_HD constexpr std::uint64_t drawn() const { return 4 * counter_ + static_cast<std::uint64_t>(index_) - 4; }
  FASTPP_HD constexpr Philox4x32Block block_at(std::uint64_t b) const {
    const Philox4x32Block ctr{{static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(b >> 32),
                               static_cast<std::uint32_t>(stream_), static_cast<std::uint32_t>(stream_ >> 32)}};
    return philox4x32_10(ctr, static_cast<std::uint32_t>(seed_), static_cast<std::uint32_t>(seed_ >> 32));
  }
  FASTPP_HD constexpr std::uint32_t u32_at(std::uint64_t k) const {
    const std::uint64_t m = drawn() + k;
    return block_at(m / 4).v[m % 4];
  }
  FASTPP_HD constexpr float uniform_at(std::uint64_t k) const { return u32_to_unit_float(u32_at(k)); }
  // Moves the position k numbers ahead, as k calls of next_u32 would.
  FASTPP_HD constexpr void discard(std::uint64_t k) {
    const std::uint64_t m = drawn() + k;
    if (m % 4 == 0) {  // at a block's start: the next draw makes it
      counter_ = m / 4;
      index_ = 4;
    } else {
      block_ = block_at(m / 4);
      counter_ = m / 4 + 1;
      index_ = static_cast<int>(m % 4);
    }
  }

 private:
  FASTPP_HD constexpr void refill() {
    block_ = block_at(counter_);
    ++counter_;
    index_ = 0;
  }

  std::uint64_t seed_;
  std::uint64_t stream_;
  std::uint64_t counter_ = 0;
  Philox4x32Block block_{};
  int index_ = 4;
};

// A permutation of 0..n-1 by a forward Fisher-Yates shuffle: the same on every platform for a seed.
template <class Index = std::int64_t, class Vec>
void random_permutation(Vec& out, std::int64_t n, Rng& rng) {
  check(n >= 0 && n <= static_cast<std::int64_t>(std::numeric_limits<std::uint32_t>::max()),
        "random_permutation: n = ", n, " is out of range");
  out.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = static_cast<Index>(i);
  for (std::int64_t i = 0; i + 1 < n; ++i) {
    const auto j = i + static_cast<std::int64_t>(rng.below(static_cast<std::uint32_t>(n - i)));
    std::swap(out[static_cast<std::size_t>(i)], out[static_cast<std::size_t>(j)]);
  }
}

}  // namespace fastpp
