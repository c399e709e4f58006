#pragma once
// Shared main() for fastpp's benchmarks: before the results, it records in Google Benchmark's context
// the build flags, the instruction set compiled for, fastpp's and BLAS's thread counts, and the CPU,
// so a number never travels without the conditions it was measured under.
#include <benchmark/benchmark.h>

#include <fastpp/core/thread_pool.hpp>
#include <fstream>
#include <string>

#ifndef FASTPP_BUILD_FLAGS
#define FASTPP_BUILD_FLAGS "unknown"
#endif
#ifndef FASTPP_ISA_NAME
#define FASTPP_ISA_NAME "unknown"
#endif

namespace fastpp::bench {

inline std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

inline void add_context() {
  benchmark::AddCustomContext("fastpp_cpu", cpu_model());
  benchmark::AddCustomContext("fastpp_isa", FASTPP_ISA_NAME);
  benchmark::AddCustomContext("fastpp_build_flags", FASTPP_BUILD_FLAGS);
  benchmark::AddCustomContext("fastpp_threads", std::to_string(fastpp::get_num_threads()));
  benchmark::AddCustomContext("fastpp_blas_threads", std::to_string(fastpp::get_blas_threads()));
#if defined(FASTPP_HAVE_OPENBLAS)
  benchmark::AddCustomContext("fastpp_gemm", "Eigen over OpenBLAS (EIGEN_USE_BLAS)");
#else
  benchmark::AddCustomContext("fastpp_gemm", "Eigen's own GEMM");
#endif
}

}  // namespace fastpp::bench

#define FASTPP_BENCHMARK_MAIN()                                   \
  int main(int argc, char** argv) {                               \
    fastpp::bench::add_context();                                 \
    benchmark::Initialize(&argc, argv);                           \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1; \
    benchmark::RunSpecifiedBenchmarks();                          \
    benchmark::Shutdown();                                        \
    return 0;                                                     \
  }
