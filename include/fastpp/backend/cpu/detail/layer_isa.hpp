#pragma once
// Which build of the layer and optimizer kernels' loops runs (norm.hpp, elementwise.hpp, pool.hpp,
// optim_kernels.hpp). Each hot loop is written once, as an always_inline function, and compiled twice
// through layer_loop<Loop>: for the binary's baseline and with __attribute__((target("avx2"))); the flag
// below (the CPU's answer, asked once, as image_isa.hpp's image_use_avx2()) picks. So a program compiled
// for plain x86-64 still gets 8-float vectors where the CPU has them. A test may set the flag to false to
// run the baseline loops on an AVX2 host (and must set it back).
//
// "avx2" without "fma", unlike the loss and image loops: with FMA allowed the compiler fuses a*b + c
// (GCC's and clang's default contraction), and the AVX2 build would round differently from a baseline
// build that has no FMA. Without it both builds compute the same expressions, so the same bits. (Where the
// build's own flags allow FMA, x86-64-v3, both copies are compiled from one source with the same
// instructions and fuse alike.) These loops are memory-bound (or bound by Adam's square root and
// division), so FMA would gain little.
// Internal to the cpu backend.
#include "cpu_isa.hpp"

#if defined(__x86_64__) || defined(__i386__)
#define FASTPP_LAYER_AVX2 1
#include <immintrin.h>
#define FASTPP_LAYER_AVX2_FN __attribute__((target("avx2")))
#endif

namespace fastpp::backend::cpu_detail {

inline bool& layer_use_avx2() {
  static bool use = cpu_has_avx2_fma();
  return use;
}

#if defined(FASTPP_LAYER_AVX2)
// Loop compiled for AVX2: Loop must be always_inline (GCC does not inline a plain function into one built
// for another target, and the loop would stay scalar).
template <auto Loop, class... Args>
[[gnu::noinline]] FASTPP_LAYER_AVX2_FN inline void layer_loop_avx2(Args... args) {
  Loop(args...);
}
#endif

// Runs Loop(args...) in its AVX2 build where layer_use_avx2(), else in the baseline one. Both compute the
// same expressions in the same order (no FMA, see above), so the choice never changes a result.
template <auto Loop, class... Args>
inline void layer_loop(Args... args) {
#if defined(FASTPP_LAYER_AVX2)
  if (layer_use_avx2()) return layer_loop_avx2<Loop>(args...);
#endif
  Loop(args...);
}

}  // namespace fastpp::backend::cpu_detail
