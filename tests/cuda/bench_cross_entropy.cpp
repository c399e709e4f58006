// Times the fused cross-entropy forward+backward on a GPU; scripts/gpu-check.sh runs it after the tests.
// Large shapes (at least 4x the GPU's L2) as a fraction of the device-to-device copy bandwidth measured in
// the same run (issue 23's target: 80%), inputs rotated across buffer sets so no launch finds its logits in
// L2; then the latency of small shapes. Timed with CUDA events. Without a GPU it says so and exits 0.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fastpp/backend/cuda/cross_entropy.hpp>
#include <fastpp/core.hpp>
#include <random>
#include <vector>

#include "cuda/check.hpp"

using namespace fastpp;

namespace {

// Milliseconds per call of f, over reps calls after two unmeasured ones.
template <class F>
float time_ms(int reps, F&& f) {
  cudaEvent_t start, stop;
  FASTPP_CUDA_CHECK(cudaEventCreate(&start));
  FASTPP_CUDA_CHECK(cudaEventCreate(&stop));
  f(0);
  f(1);
  FASTPP_CUDA_CHECK(cudaEventRecord(start));
  for (int r = 0; r < reps; ++r) f(r);
  FASTPP_CUDA_CHECK(cudaEventRecord(stop));
  FASTPP_CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  FASTPP_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  FASTPP_CUDA_CHECK(cudaEventDestroy(start));
  FASTPP_CUDA_CHECK(cudaEventDestroy(stop));
  return ms / static_cast<float>(reps);
}

// sets buffers of logits and of dx (each at least 4x L2 in all), targets, and the reduced loss's scalars.
template <class T>
struct Buffers {
  std::int64_t rows, n;
  int sets;
  std::vector<Tensor<T, cuda>> x, dx;
  Tensor<std::int64_t, cuda> target;
  Tensor<T, cuda> loss, grad;

  Buffers(std::int64_t r, std::int64_t c, std::size_t l2) : rows(r), n(c) {
    const auto bytes = static_cast<std::size_t>(r * c) * sizeof(T);
    sets = static_cast<int>(std::max<std::size_t>(2, (4 * l2 + bytes - 1) / bytes));
    std::mt19937 gen(7);
    std::normal_distribution<float> logit(0.0f, 3.0f);
    std::vector<T> host(static_cast<std::size_t>(r * c));
    for (auto& v : host) v = T(logit(gen));
    const auto xh = Tensor<T>::from({r, c}, host);
    for (int s = 0; s < sets; ++s) {
      x.push_back(xh.template to<cuda>());
      dx.push_back(Tensor<T>::empty({r, c}).template to<cuda>());
    }
    std::vector<std::int64_t> t(static_cast<std::size_t>(r));
    for (auto& v : t) v = std::uniform_int_distribution<std::int64_t>(0, c - 1)(gen);
    target = Tensor<std::int64_t>::from({r}, t).template to<cuda>();
    loss = Tensor<T>::zeros({1}).template to<cuda>();
    grad = Tensor<T>::full({1}, T(1.0f)).template to<cuda>();
  }
  // forward + backward, mean reduction, on buffer set s % sets
  void run(int s) {
    const int k = s % sets;
    cuda_kernels::softmax_cross_entropy(x[k].data(), rows, n, target.data(), -100, nullptr, 0.0,
                                        static_cast<double>(rows), static_cast<double>(rows), false, loss.data(),
                                        nullptr, grad.data(), dx[k].data());
  }
};

template <class T>
void large(const char* dtype, std::int64_t rows, std::int64_t n, std::size_t l2) {
  Buffers<T> b(rows, n, l2);
  const std::size_t bytes = static_cast<std::size_t>(rows * n) * sizeof(T);
  // the copy: the same bytes read and written, between the same rotated buffers
  const float copy_ms = time_ms(20, [&](int s) {
    FASTPP_CUDA_CHECK(cudaMemcpyAsync(b.dx[s % b.sets].data(), b.x[s % b.sets].data(), bytes, cudaMemcpyDeviceToDevice));
  });
  const float ce_ms = time_ms(20, [&](int s) { b.run(s); });
  const double copy_gbs = 2.0 * static_cast<double>(bytes) / (copy_ms * 1e6);
  const double ce_bytes = 2.0 * static_cast<double>(bytes) + 8.0 * static_cast<double>(rows);  // x, dx, targets
  const double ce_gbs = ce_bytes / (ce_ms * 1e6);
  std::printf("| %8lld x %-5lld | %-8s | %8.3f ms | %7.1f GB/s | copy %7.1f GB/s | %5.1f%% of copy |\n",
              static_cast<long long>(rows), static_cast<long long>(n), dtype, static_cast<double>(ce_ms), ce_gbs,
              copy_gbs, 100.0 * ce_gbs / copy_gbs);
  std::fflush(stdout);
}

template <class T>
void small(const char* dtype, std::int64_t rows, std::int64_t n) {
  Buffers<T> b(rows, n, 0);
  const float ms = time_ms(200, [&](int s) { b.run(s); });
  std::printf("| %8lld x %-5lld | %-8s | %8.1f us per call (forward + backward, mean) |\n",
              static_cast<long long>(rows), static_cast<long long>(n), dtype, 1000.0 * static_cast<double>(ms));
  std::fflush(stdout);
}

}  // namespace

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: the cross-entropy benchmark has nothing to time\n");
    return 0;
  }
  int l2 = 0;
  FASTPP_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0));
  std::printf("fused cross-entropy forward+backward; L2 %d MiB\n", l2 >> 20);
  const auto l2_bytes = static_cast<std::size_t>(l2);
  large<float>("float", 65536, 1000, l2_bytes);
  large<float>("float", 2097152, 37, l2_bytes);
  large<fastpp::half>("half", 65536, 1000, l2_bytes);
  large<fastpp::half>("half", 2097152, 37, l2_bytes);
  large<fastpp::bfloat16>("bfloat16", 65536, 1000, l2_bytes);
  small<float>("float", 64, 10);
  small<float>("float", 256, 1000);
  small<float>("float", 1024, 37);
  return 0;
}
