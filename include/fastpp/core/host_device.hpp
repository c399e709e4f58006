#pragma once
// FASTPP_HD marks a function that is compiled for both the host and a CUDA device. The per-element math
// of the kernels is written once with it, so the CPU tests check the GPU's arithmetic too.
#if defined(__CUDACC__)
#define FASTPP_HD __host__ __device__
#define FASTPP_HD_INLINE __host__ __device__ __forceinline__
#else
#define FASTPP_HD
#define FASTPP_HD_INLINE inline
#endif
