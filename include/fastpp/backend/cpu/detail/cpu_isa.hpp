#pragma once
// What the CPU the program runs on can do, asked once: the cpu backend compiles its hot loops twice (the
// binary's baseline, and __attribute__((target("avx2,fma")))) and picks with this, so a program built for
// plain x86-64 still runs the AVX2 loops where the CPU has them. Internal to the cpu backend.

namespace fastpp::backend::cpu_detail {

inline bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
#else
  return false;
#endif
}

}  // namespace fastpp::backend::cpu_detail
