#pragma once
// FASTPP_HD marks a function that is compiled for both the host and a CUDA device. The per-element math
// of the kernels is written once with it, so the CPU tests check the GPU's arithmetic too.
// FASTPP_HD_ALWAYS_INLINE is for the per-element functions that the cpu's layer loops call: those loops are
// compiled for AVX2 too (backend/cpu/detail/layer_isa.hpp), and GCC inlines a function into a build for
// another target only when it is always_inline; one left out of line would keep the loop scalar.
#if defined(__CUDACC__)
#define FASTPP_HD __host__ __device__
#define FASTPP_HD_INLINE __host__ __device__ __forceinline__
#define FASTPP_HD_ALWAYS_INLINE __host__ __device__ __forceinline__
#else
#define FASTPP_HD
#define FASTPP_HD_INLINE inline
#define FASTPP_HD_ALWAYS_INLINE [[gnu::always_inline]] inline
#endif
