#pragma once
// What machine a run used, in words, for the training report: threads, the CPU, the instruction sets the
// code was compiled for and the ones the CPU has, the BLAS behind the matrix products, the compiler.
// A timing means little without these, so the report prints them beside the time per epoch.
#include <fstream>
#include <string>

#include "../core/thread_pool.hpp"

// OpenBLAS's build description, found at link time when the program links OpenBLAS; null otherwise.
extern "C" char* openblas_get_config(void) __attribute__((weak));

namespace fastpp {

struct MachineInfo {
  int threads = 0;          // fastpp's compute threads (get_num_threads)
  std::string cpu;          // the CPU's model name (/proc/cpuinfo), or "unknown"
  std::string isa_compiled; // the vector extensions this program was compiled for
  std::string isa_cpu;      // the ones the CPU reports (x86: asked at run time)
  std::string blas;         // what Eigen's matrix products end in
  std::string compiler;
};

namespace report_detail {
inline std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown";
}
inline void add(std::string& s, const char* what) { s += s.empty() ? what : std::string(", ") + what; }
}  // namespace report_detail

inline MachineInfo machine_info() {
  MachineInfo m;
  m.threads = get_num_threads();
  m.cpu = report_detail::cpu_model();
  using report_detail::add;
#if defined(__AVX512F__)
  add(m.isa_compiled, "AVX-512F");
#endif
#if defined(__AVX2__)
  add(m.isa_compiled, "AVX2");
#endif
#if defined(__FMA__)
  add(m.isa_compiled, "FMA");
#endif
#if defined(__SSE4_2__)
  add(m.isa_compiled, "SSE4.2");
#endif
#if defined(__ARM_NEON)
  add(m.isa_compiled, "NEON");
#endif
  if (m.isa_compiled.empty()) m.isa_compiled = "baseline (no vector extension beyond the target's default)";
#if defined(FASTPP_ISA_NAME)
  // fastpp's own targets say which -march they were built with (cmake/FastppWarnings.cmake).
  m.isa_compiled = std::string(FASTPP_ISA_NAME) + ": " + m.isa_compiled;
#endif
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx512f")) add(m.isa_cpu, "AVX-512F");
  if (__builtin_cpu_supports("avx2")) add(m.isa_cpu, "AVX2");
  if (__builtin_cpu_supports("fma")) add(m.isa_cpu, "FMA");
  if (__builtin_cpu_supports("sse4.2")) add(m.isa_cpu, "SSE4.2");
  if (m.isa_cpu.empty()) m.isa_cpu = "none of AVX-512F, AVX2, FMA, SSE4.2";
#else
  m.isa_cpu = "not asked (not an x86 CPU)";
#endif
#if defined(EIGEN_USE_BLAS)
  m.blas = "OpenBLAS (EIGEN_USE_BLAS)";
  if (openblas_get_config) m.blas += std::string(": ") + openblas_get_config();
  if (openblas_get_num_threads) m.blas += ", " + std::to_string(openblas_get_num_threads()) + " threads";
#else
  m.blas = "none: Eigen's own matrix products";
#endif
#if defined(__clang__)
  m.compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  m.compiler = "g++ " __VERSION__;
#else
  m.compiler = "unknown";
#endif
  return m;
}

}  // namespace fastpp
