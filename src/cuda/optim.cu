// The optimizer kernels of fastpp::cuda (declared in backend/cuda/optim.hpp), with the contracts of the
// cpu's optim_kernels (backend/cpu/optim_kernels.hpp).
//
// The per-element expressions and the constants (combined in double, rounded to float once) come from
// backend/optim_math.hpp, which the cpu kernels run too. Here they are evaluated with the IEEE
// round-to-nearest intrinsics (__fmul_rn, __fadd_rn, __fsub_rn, __fdiv_rn, __fsqrt_rn): nvcc never fuses
// those into an FMA, whatever -fmad says, so each element gets the bits of the cpu's scalar path evaluated
// one rounded operation at a time (the cpu's own bits in a build without FMA, plain x86-64).
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <fastpp/backend/cuda/optim.hpp>
#include <fastpp/backend/optim_math.hpp>
#include <fastpp/core/allocator.hpp>
#include <fastpp/core/error.hpp>

#include "check.hpp"
#include "reduce.cuh"
#include "stream.hpp"

namespace fastpp::cuda_kernels {

namespace {

using i64 = std::int64_t;
using backend::AdamConsts;
using backend::SgdConsts;

// optim_math.hpp's operations, each rounded on its own (host versions only so the templates compile there).
struct DeviceOps {
#if defined(__CUDA_ARCH__)
  __device__ static float mul(float a, float b) { return __fmul_rn(a, b); }
  __device__ static float add(float a, float b) { return __fadd_rn(a, b); }
  __device__ static float sub(float a, float b) { return __fsub_rn(a, b); }
  __device__ static float div(float a, float b) { return __fdiv_rn(a, b); }
  __device__ static float sqrt(float a) { return __fsqrt_rn(a); }
#else
  static float mul(float a, float b) { return a * b; }
  static float add(float a, float b) { return a + b; }
  static float sub(float a, float b) { return a - b; }
  static float div(float a, float b) { return a / b; }
  static float sqrt(float a) { return std::sqrt(a); }
#endif
};

constexpr int threads = 256;
constexpr i64 max_blocks = i64{1} << 16;

unsigned grid_for(i64 n) { return static_cast<unsigned>(std::clamp<i64>((n + threads - 1) / threads, 1, max_blocks)); }

__device__ __forceinline__ void adam_at(float* p, const float* g, float* grad_avg, float* sqr_avg, i64 i,
                                        const AdamConsts& c) {
  const backend::AdamElement e = backend::adam_element<DeviceOps>(p[i], g[i], grad_avg[i], sqr_avg[i], c);
  grad_avg[i] = e.grad_avg;
  sqr_avg[i] = e.sqr_avg;
  p[i] = e.p;
}
__device__ __forceinline__ void sgd_at(float* p, const float* g, float* grad_avg, i64 i, const SgdConsts& c) {
  if (grad_avg) {
    const backend::SgdElement e = backend::sgd_momentum_element<DeviceOps>(p[i], g[i], grad_avg[i], c);
    grad_avg[i] = e.grad_avg;
    p[i] = e.p;
  } else {
    p[i] = backend::sgd_plain_element<DeviceOps>(p[i], g[i], c);
  }
}

__global__ void __launch_bounds__(threads) adam_kernel(float* p, const float* g, float* grad_avg, float* sqr_avg,
                                                       i64 n, AdamConsts c) {
  const i64 stride = static_cast<i64>(gridDim.x) * threads;
  for (i64 i = static_cast<i64>(blockIdx.x) * threads + threadIdx.x; i < n; i += stride)
    adam_at(p, g, grad_avg, sqr_avg, i, c);
}

__global__ void __launch_bounds__(threads) sgd_kernel(float* p, const float* g, float* grad_avg, i64 n, SgdConsts c) {
  const i64 stride = static_cast<i64>(gridDim.x) * threads;
  for (i64 i = static_cast<i64>(blockIdx.x) * threads + threadIdx.x; i < n; i += stride) sgd_at(p, g, grad_avg, i, c);
}

// g *= inv_scale; *bad = 1 if any result is not finite (one store per warp that saw one).
__global__ void __launch_bounds__(threads) unscale_kernel(float* g, i64 n, float inv_scale, int* bad) {
  const i64 stride = static_cast<i64>(gridDim.x) * threads;
  bool any = false;
  for (i64 i = static_cast<i64>(blockIdx.x) * threads + threadIdx.x; i < n; i += stride) {
    const float v = __fmul_rn(g[i], inv_scale);
    g[i] = v;
    any |= !backend::finite_value(v);
  }
  if (__any_sync(reduce::full_mask, any) && threadIdx.x % 32 == 0) *bad = 1;
}

// ---- many tensors in one launch ----

// A launch's tensors and blocks, passed as the kernel's argument (under the 4 KiB every CUDA version takes):
// block b runs chunk chunk[b] (chunk_size elements) of tensor tensor[b].
constexpr int list_tensors = 36;
constexpr int list_blocks = 320;
constexpr i64 chunk_size = 65536;
constexpr int list_threads = 512;

template <int Ptrs>
struct TensorList {
  float* ptr[Ptrs][list_tensors];
  i64 n[list_tensors];
  unsigned char tensor[list_blocks];
  int chunk[list_blocks];
};
static_assert(sizeof(TensorList<4>) + sizeof(AdamConsts) <= 4096, "a launch's argument must stay under 4 KiB");

// The element range of this block's chunk.
template <int Ptrs>
__device__ void chunk_range(const TensorList<Ptrs>& l, int& t, i64& begin, i64& end) {
  t = l.tensor[blockIdx.x];
  begin = static_cast<i64>(l.chunk[blockIdx.x]) * chunk_size;
  end = begin + chunk_size < l.n[t] ? begin + chunk_size : l.n[t];
}

__global__ void __launch_bounds__(list_threads) adam_many_kernel(TensorList<4> l, AdamConsts c) {
  int t;
  i64 begin, end;
  chunk_range(l, t, begin, end);
  for (i64 i = begin + threadIdx.x; i < end; i += list_threads)
    adam_at(l.ptr[0][t], l.ptr[1][t], l.ptr[2][t], l.ptr[3][t], i, c);
}
__global__ void __launch_bounds__(list_threads) sgd_many_kernel(TensorList<3> l, SgdConsts c) {
  int t;
  i64 begin, end;
  chunk_range(l, t, begin, end);
  for (i64 i = begin + threadIdx.x; i < end; i += list_threads) sgd_at(l.ptr[0][t], l.ptr[1][t], l.ptr[2][t], i, c);
}

// Packs the tensors' chunks into lists, launching launch(list, blocks) whenever one is full; a tensor whose
// chunks span two lists is entered in both.
template <int Ptrs, class Get, class Launch>
void for_lists(i64 count, Get get, Launch launch) {
  check(count >= 0, "cuda multi-tensor step: negative tensor count ", count);
  TensorList<Ptrs> list{};
  int tensors = 0, blocks = 0;
  for (i64 k = 0; k < count; ++k) {
    std::array<float*, Ptrs> ptrs{};
    i64 n = 0;
    get(k, ptrs, n);
    check(n >= 0, "cuda multi-tensor step: tensor ", k, " has a negative size ", n);
    const i64 chunks = (n + chunk_size - 1) / chunk_size;
    check(chunks <= i64{1} << 30, "cuda multi-tensor step: tensor ", k, " has too many elements, ", n);
    for (i64 ch = 0; ch < chunks; ++ch) {
      if (ch == 0 || tensors == 0) {  // enter tensor k (again, in a new list)
        if (tensors == list_tensors) {
          launch(list, blocks);
          tensors = blocks = 0;
        }
        for (int q = 0; q < Ptrs; ++q) list.ptr[q][tensors] = ptrs[static_cast<std::size_t>(q)];
        list.n[tensors] = n;
        ++tensors;
      }
      list.tensor[blocks] = static_cast<unsigned char>(tensors - 1);
      list.chunk[blocks] = static_cast<int>(ch);
      if (++blocks == list_blocks) {
        launch(list, blocks);
        tensors = blocks = 0;
      }
    }
  }
  if (blocks > 0) launch(list, blocks);
}

}  // namespace

void adam_step(float* p, const float* g, float* grad_avg, float* sqr_avg, std::int64_t n, double lr, double mom,
               double sqr_mom, double eps, double wd, bool decouple_wd, double debias1, double debias2) {
  check(n >= 0, "cuda adam_step: negative size ", n);
  if (n == 0) return;
  const AdamConsts c(lr, mom, sqr_mom, eps, wd, decouple_wd, debias1, debias2);
  adam_kernel<<<grid_for(n), threads, 0, cuda_runtime::stream()>>>(p, g, grad_avg, sqr_avg, n, c);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

void sgd_step(float* p, const float* g, float* grad_avg, std::int64_t n, double lr, double mom, double wd,
              bool decouple_wd) {
  check(n >= 0, "cuda sgd_step: negative size ", n);
  if (n == 0) return;
  const SgdConsts c(lr, mom, wd, decouple_wd);
  sgd_kernel<<<grid_for(n), threads, 0, cuda_runtime::stream()>>>(p, g, grad_avg, n, c);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

bool unscale_and_check_finite(float* g, std::int64_t n, float inv_scale) {
  check(n >= 0, "cuda unscale_and_check_finite: negative size ", n);
  const cudaStream_t s = cuda_runtime::stream();
  auto* bad = static_cast<int*>(cuda_runtime::allocate(sizeof(int)));
  int host = 0;
  try {
    FASTPP_CUDA_CHECK(cudaMemsetAsync(bad, 0, sizeof(int), s));
    if (n > 0) {
      unscale_kernel<<<grid_for(n), threads, 0, s>>>(g, n, inv_scale, bad);
      FASTPP_CUDA_CHECK(cudaGetLastError());
    }
    FASTPP_CUDA_CHECK(cudaMemcpyAsync(&host, bad, sizeof(int), cudaMemcpyDeviceToHost, s));
    FASTPP_CUDA_CHECK(cudaStreamSynchronize(s));
  } catch (...) {
    cuda_runtime::release(bad);
    throw;
  }
  cuda_runtime::release(bad);
  return host == 0;
}

void zero(float* p, std::int64_t n) {
  check(n >= 0, "cuda zero: negative size ", n);
  if (n == 0) return;
  FASTPP_CUDA_CHECK(cudaMemsetAsync(p, 0, sizeof(float) * static_cast<std::size_t>(n), cuda_runtime::stream()));
}

void adam_step_many(const AdamTensor* tensors, std::int64_t count, double lr, double mom, double sqr_mom, double eps,
                    double wd, bool decouple_wd, double debias1, double debias2) {
  const AdamConsts c(lr, mom, sqr_mom, eps, wd, decouple_wd, debias1, debias2);
  const cudaStream_t s = cuda_runtime::stream();
  for_lists<4>(
      count,
      [&](i64 k, std::array<float*, 4>& ptrs, i64& n) {
        const AdamTensor& t = tensors[k];
        ptrs = {t.p, const_cast<float*>(t.g), t.grad_avg, t.sqr_avg};
        n = t.n;
      },
      [&](const TensorList<4>& list, int blocks) {
        adam_many_kernel<<<static_cast<unsigned>(blocks), list_threads, 0, s>>>(list, c);
        FASTPP_CUDA_CHECK(cudaGetLastError());
      });
}

void sgd_step_many(const SgdTensor* tensors, std::int64_t count, double lr, double mom, double wd, bool decouple_wd) {
  const SgdConsts c(lr, mom, wd, decouple_wd);
  const cudaStream_t s = cuda_runtime::stream();
  for_lists<3>(
      count,
      [&](i64 k, std::array<float*, 3>& ptrs, i64& n) {
        const SgdTensor& t = tensors[k];
        ptrs = {t.p, const_cast<float*>(t.g), t.grad_avg};
        n = t.n;
      },
      [&](const TensorList<3>& list, int blocks) {
        sgd_many_kernel<<<static_cast<unsigned>(blocks), list_threads, 0, s>>>(list, c);
        FASTPP_CUDA_CHECK(cudaGetLastError());
      });
}

}  // namespace fastpp::cuda_kernels
