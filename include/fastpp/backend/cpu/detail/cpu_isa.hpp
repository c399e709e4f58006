#pragma once
// What the CPU the program runs on can do, asked once: the cpu backend compiles its hot loops twice (the
// binary's baseline, and __attribute__((target("avx2,fma"))) or target("avx2")) and picks with this, so a
// program built for plain x86-64 still runs the AVX2 loops where the CPU has them. FASTPP_CPU_ISA=baseline
// in the environment runs the baseline loops everywhere (loss, image and layer kernels alike), to compare
// or to rule the AVX2 builds out; unset, empty or "auto" asks the CPU. Internal to the cpu backend.
#include <cstdlib>
#include <string_view>

#include "../../../core/error.hpp"

namespace fastpp::backend::cpu_detail {

inline bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = [] {
    if (const char* env = std::getenv("FASTPP_CPU_ISA"); env && *env) {
      const std::string_view v(env);
      fastpp::check(v == "baseline" || v == "auto", "FASTPP_CPU_ISA must be 'baseline' or 'auto', got '", v, "'");
      if (v == "baseline") return false;
    }
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
#else
  return false;
#endif
}

}  // namespace fastpp::backend::cpu_detail
