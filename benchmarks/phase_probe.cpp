// The machine's phases, measured. On a shared machine another tenant can slow parts of this core for
// minutes at a time; which parts decides which kernels a comparison run catches slow. This program
// alternates, batch after batch for a given number of seconds, small probes of the core's resources, the
// 37-class cross-entropy forward+backward (in cache and from memory, 1 thread) and a copy like torch's
// (plain stores, 4 KiB pages), prints every batch, and ends with the medians of the quiet batches and of
// the others. docs/loss.md's figures on the phases come from it.
//
//   phase_probe [seconds]      (default 60)
//
// A batch is quiet when its in-cache pass is within 15% of the fastest batch's.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fastpp/core/rng.hpp>
#include <fastpp/loss.hpp>
#include <new>
#include <string>
#include <vector>

#include "bench_main.hpp"  // cpu_model(), FASTPP_BUILD_FLAGS

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The asm statements keep the compiler from folding or hoisting the probes' work.
template <class V>
void keep(V& v) {
  asm volatile("" : "+x"(v));
}

// Floating-point throughput: 10 independent FMA chains (more than the two pipes times their latency), in
// named variables so that they stay in registers.
double fma_gflops() {
  constexpr long iters = 2'000'000;
  __m256 a0 = _mm256_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0;
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  const auto t = Clock::now();
  for (long k = 0; k < iters; ++k) {
    a0 = _mm256_fmadd_ps(a0, m, c), a1 = _mm256_fmadd_ps(a1, m, c), a2 = _mm256_fmadd_ps(a2, m, c);
    a3 = _mm256_fmadd_ps(a3, m, c), a4 = _mm256_fmadd_ps(a4, m, c), a5 = _mm256_fmadd_ps(a5, m, c);
    a6 = _mm256_fmadd_ps(a6, m, c), a7 = _mm256_fmadd_ps(a7, m, c), a8 = _mm256_fmadd_ps(a8, m, c);
    a9 = _mm256_fmadd_ps(a9, m, c);
    asm volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9));
  }
  return 2.0 * 8 * 10 * static_cast<double>(iters) / ms_since(t) / 1e6;
}

// Stores that stay in L1: 16 KiB written 4000 times, ms.
double l1_stores_ms(std::vector<float>& buf) {
  const auto t = Clock::now();
  __m256 v = _mm256_set1_ps(1.0f);
  for (int r = 0; r < 4000; ++r) {
    keep(v);
    for (std::size_t i = 0; i + 8 <= 4096; i += 8) _mm256_storeu_ps(buf.data() + i, v);
    asm volatile("" ::: "memory");
  }
  return ms_since(t);
}

// Reads that stay in L2: 384 KiB read 160 times, ms.
double l2_reads_ms(const std::vector<float>& buf) {
  const auto t = Clock::now();
  __m256 s0 = _mm256_setzero_ps(), s1 = s0;
  for (int r = 0; r < 160; ++r)
    for (std::size_t i = 0; i + 16 <= buf.size(); i += 16) {
      s0 = _mm256_add_ps(s0, _mm256_loadu_ps(buf.data() + i));
      s1 = _mm256_add_ps(s1, _mm256_loadu_ps(buf.data() + i + 8));
    }
  s0 = _mm256_add_ps(s0, s1);
  keep(s0);
  return ms_since(t);
}

// Memory-bound plain-store copy of 256 MiB on 4 KiB pages, like torch's copy_, GB/s (read + write).
struct Copy {
  std::size_t n = std::size_t{64} << 20;
  float* src = static_cast<float*>(std::aligned_alloc(4096, n * sizeof(float)));
  float* dst = static_cast<float*>(std::aligned_alloc(4096, n * sizeof(float)));
  Copy() {
    if (!src || !dst) throw std::bad_alloc();
#if defined(__linux__)
    madvise(src, n * sizeof(float), MADV_NOHUGEPAGE);
    madvise(dst, n * sizeof(float), MADV_NOHUGEPAGE);
#endif
    std::fill(src, src + n, 1.0f);
    std::fill(dst, dst + n, 0.0f);
  }
  ~Copy() {
    std::free(src);
    std::free(dst);
  }
  Copy(const Copy&) = delete;
  Copy& operator=(const Copy&) = delete;
  double gbs() {
    const auto t = Clock::now();
    for (std::size_t i = 0; i < n; i += 8) _mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
    asm volatile("" ::: "memory");
    return 2.0 * sizeof(float) * static_cast<double>(n) / ms_since(t) / 1e6;
  }
};

// cross_entropy_forward_backward_out on N x 37 logits, N(0, 3^2), as bench_loss sets them up.
struct Pass {
  fastpp::Tensor<float> x, dx, loss, grad;
  fastpp::Tensor<std::int64_t> t;
  explicit Pass(std::int64_t n)
      : x(fastpp::Tensor<float>::empty({n, 37})), dx(fastpp::Tensor<float>::zeros({n, 37})),
        loss(fastpp::Tensor<float>::zeros({1})), grad(fastpp::Tensor<float>::full({1}, 1.0f)),
        t(fastpp::Tensor<std::int64_t>::empty({n})) {
    fastpp::Rng rng(1);
    for (auto& v : x) v = static_cast<float>(rng.normal() * 3.0);
    for (auto& v : t) v = static_cast<std::int64_t>(rng.below(37));
  }
  double bytes() const { return 2.0 * 4.0 * static_cast<double>(x.numel()) + 8.0 * static_cast<double>(t.numel()); }
  double ms(int calls) {
    std::vector<double> v;
    for (int k = 0; k < calls; ++k) {
      const auto t0 = Clock::now();
      fastpp::cross_entropy_forward_backward_out(x, t, {}, grad, loss, dx);
      v.push_back(ms_since(t0));
    }
    return median(v);
  }
};

struct Batch {
  double fma, stores, l2, cache_us, memory_ms, copy, fraction;
};

void print_row(const char* label, const Batch& b) {
  std::printf("%-10s %8.1f %9.3f %8.3f %10.2f %11.3f %9.1f %10.2f\n", label, b.fma, b.stores, b.l2, b.cache_us,
              b.memory_ms, b.copy, b.fraction);
}

Batch medians(const std::vector<Batch>& bs) {
  const auto col = [&](double Batch::*f) {
    std::vector<double> v;
    for (const auto& b : bs) v.push_back(b.*f);
    return median(v);
  };
  return {col(&Batch::fma),       col(&Batch::stores),    col(&Batch::l2),      col(&Batch::cache_us),
          col(&Batch::memory_ms), col(&Batch::copy),      col(&Batch::fraction)};
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 60.0;
  fastpp::set_num_threads(1);
  std::vector<float> l1(4096, 1.0f), l2(96 * 1024, 1.0f);
  Pass cache(2048), memory(262144);
  Copy copy;
  std::printf("machine: %s; fastpp: 1 thread, %s, flags: %s\n", fastpp::bench::cpu_model().c_str(), FASTPP_ISA_NAME,
              FASTPP_BUILD_FLAGS);
  std::printf("a batch: the probes, then the pass 200 times on 2048 x 37 (in cache) and 9 times on 262144 x 37;\n"
              "times are medians; 'of copy' is the memory pass's bytes per second over the copy's\n");
  std::printf("%-10s %8s %9s %8s %10s %11s %9s %10s\n", "batch", "fma GF/s", "L1 st ms", "L2 rd ms", "cache us",
              "memory ms", "copy GB/s", "of copy");
  std::vector<Batch> batches;
  const auto start = Clock::now();
  do {  // at least one batch
    Batch b{};
    b.fma = fma_gflops();
    b.stores = l1_stores_ms(l1);
    b.l2 = l2_reads_ms(l2);
    b.cache_us = cache.ms(200) * 1e3;
    b.memory_ms = memory.ms(9);
    b.copy = median({copy.gbs(), copy.gbs(), copy.gbs()});
    b.fraction = memory.bytes() / b.memory_ms / 1e6 / b.copy;
    batches.push_back(b);
    print_row(std::to_string(batches.size()).c_str(), b);
  } while (ms_since(start) < seconds * 1e3);
  double fastest = batches.front().cache_us;
  for (const auto& b : batches) fastest = std::min(fastest, b.cache_us);
  std::vector<Batch> quiet, contended;
  for (const auto& b : batches) (b.cache_us <= 1.15 * fastest ? quiet : contended).push_back(b);
  std::printf("medians (a batch is quiet when its in-cache pass is within 15%% of the fastest)\n");
  if (!quiet.empty()) print_row(("quiet " + std::to_string(quiet.size())).c_str(), medians(quiet));
  if (!contended.empty()) print_row(("other " + std::to_string(contended.size())).c_str(), medians(contended));
}

#else
int main() {
  std::puts("phase_probe measures AVX2 and FMA code: build fastpp for x86-64-v3 (the default)");
}
#endif
