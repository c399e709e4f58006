#pragma once
// Which build of the image samplers' loops runs: each hot loop is compiled twice, once for the binary's
// baseline and once with __attribute__((target("avx2,fma"))), and this flag (the CPU's answer, asked once)
// picks, as loss_blocks.hpp's loss_use_avx2() does for the loss rows. So a program compiled for plain
// x86-64 still gets the AVX2 loops where the CPU has them. A test may set it to false to run the portable
// loops on an AVX2 host (and must set it back).
// Internal to the cpu backend: include fastpp/backend/cpu/image_kernels.hpp instead.
#if defined(__x86_64__) || defined(__i386__)
#define FASTPP_IMAGE_AVX2 1
#include <immintrin.h>
#define FASTPP_IMAGE_AVX2_FN __attribute__((target("avx2,fma")))
#define FASTPP_IMAGE_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) inline
#endif

#include "cpu_isa.hpp"

namespace fastpp::backend::cpu_detail {

inline bool& image_use_avx2() {
  static bool use = cpu_has_avx2_fma();
  return use;
}

}  // namespace fastpp::backend::cpu_detail
