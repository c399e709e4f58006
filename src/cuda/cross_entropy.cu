// The fused softmax cross-entropy forward and backward (declared in backend/cuda/cross_entropy.hpp).
// Each row's logits are read once into registers (a warp per row, up to 256 classes) or shared memory (a
// block per row), its maximum and sum of exp formed there in float, and dx written once from them. The
// per-row formulas come from backend/cross_entropy_row.hpp, which the cpu kernel runs too.
// A reduced loss takes each row's two terms in double, summed by one block in a fixed order, so the
// result does not depend on how the rows were scheduled.
#include <cuda_runtime.h>

#include <cmath>
#include <fastpp/backend/cross_entropy_row.hpp>
#include <fastpp/backend/cuda/cross_entropy.hpp>
#include <fastpp/core/allocator.hpp>
#include <fastpp/core/error.hpp>

#include "check.hpp"
#include "reduce.cuh"
#include "stream.hpp"

namespace fastpp::cuda_kernels {

namespace {

template <class T>
struct Args {
  const T* x;
  std::int64_t rows, n;
  const std::int64_t* target;
  std::int64_t ignore_index;
  const float* weight;
  double eps, nll_divisor, smooth_divisor;
  bool per_row, smoothing;
  T *loss, *lse;
  const T* grad;
  T* dx;
  double* terms;  // [rows, 2]: each row's nll and smooth terms, for a reduced loss
};

using reduce::block_reduce;
using reduce::full_mask;
using reduce::warp_max;
using reduce::warp_sum;

// A row's end, run by one thread of the row once its maximum m and sums are known: it writes the loss
// outputs and returns what every thread of the row needs for dx_j = scale exp(d_j) + offset (then
// cross_entropy_at_target), which the kernels broadcast. One thread, not all: the few double divisions per
// row would otherwise run on every thread, as many times as a row has threads.
struct RowGrad {
  float scale, offset;
  backend::CrossEntropyGrad gr;
  std::int64_t t;
  bool counted;
};

template <class T>
__device__ RowGrad finish_row(const Args<T>& a, std::int64_t i, float m, float sum_exp, float sum_shifted) {
  const std::int64_t t = a.target[i];
  const bool counted = t != a.ignore_index;
  const double w = !counted ? 0.0 : a.weight ? static_cast<double>(a.weight[t]) : 1.0;
  const float log_s = logf(sum_exp);
  // x_t is read a second time, from the cache: the thread holding it is not known without a search
  const float d_t = counted ? static_cast<float>(a.x[i * a.n + t]) - m : 0.0f;
  const double classes = static_cast<double>(a.n);
  const backend::CrossEntropyTerms terms =
      backend::cross_entropy_terms<float>(log_s, d_t, sum_shifted, w, counted, a.smoothing, classes);
  if (a.lse) a.lse[i] = T(m + log_s);
  if (a.loss && a.per_row) {
    a.loss[i] = T(static_cast<float>(backend::cross_entropy_loss(terms.nll, terms.smooth, a.eps, classes)));
  }
  if (a.terms) {
    a.terms[2 * i] = terms.nll;
    a.terms[2 * i + 1] = terms.smooth;
  }
  RowGrad r{0.0f, 0.0f, {}, t, counted};
  if (a.dx) {
    const double g = static_cast<double>(static_cast<float>(a.grad[a.per_row ? i : 0]));
    r.gr = backend::cross_entropy_grad(g, w, a.eps, classes, a.nll_divisor, a.smooth_divisor,
                                       static_cast<double>(sum_exp));
    r.scale = static_cast<float>(r.gr.scale);
    r.offset = static_cast<float>(r.gr.offset);
  }
  return r;
}

__device__ __forceinline__ float dx_value(const RowGrad& r, float e, std::int64_t j) {
  const float v = e * r.scale + r.offset;
  return r.counted && j == r.t ? backend::cross_entropy_at_target(v, r.gr) : v;
}

// A warp per row, K values per lane (n <= 32 K), rows_per_block warps per block.
constexpr int rows_per_block = 8;

template <class T, int K>
__global__ void __launch_bounds__(32 * rows_per_block) warp_rows(Args<T> a) {
  const int lane = static_cast<int>(threadIdx.x);
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * rows_per_block + threadIdx.y;
  if (i >= a.rows) return;  // the whole warp leaves together
  const T* xi = a.x + i * a.n;
  float v[K];
  float m = -INFINITY;
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const std::int64_t j = lane + 32 * k;
    v[k] = j < a.n ? static_cast<float>(xi[j]) : -INFINITY;
    m = fmaxf(m, v[k]);
  }
  m = warp_max(m);
  float sum = 0.0f, shifted = 0.0f;
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const bool in = lane + 32 * k < a.n;
    if (a.smoothing && in) shifted += v[k] - m;
    v[k] = in ? expf(v[k] - m) : 0.0f;
    sum += v[k];
  }
  sum = warp_sum(sum);
  if (a.smoothing) shifted = warp_sum(shifted);
  RowGrad r{};
  if (lane == 0) r = finish_row(a, i, m, sum, shifted);
  if (!a.dx) return;
  r.scale = __shfl_sync(full_mask, r.scale, 0);
  r.offset = __shfl_sync(full_mask, r.offset, 0);
  r.gr.s_nll = __shfl_sync(full_mask, r.gr.s_nll, 0);
  r.gr.keep = __shfl_sync(full_mask, r.gr.keep, 0);
  r.t = __shfl_sync(full_mask, r.t, 0);
  r.counted = __shfl_sync(full_mask, static_cast<int>(r.counted), 0) != 0;
  T* di = a.dx + i * a.n;
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const std::int64_t j = lane + 32 * k;
    if (j < a.n) di[j] = T(dx_value(r, v[k], j));
  }
}

// A block per row. The row is staged in shared memory when it fits (`staged`), so the logits are read
// once; longer rows read them again for the exp and for dx.
template <class T>
__global__ void __launch_bounds__(512) block_rows(Args<T> a, bool staged) {
  extern __shared__ float row[];
  __shared__ float slots[32];
  const std::int64_t i = blockIdx.x;
  const T* xi = a.x + i * a.n;
  float m = -INFINITY;
  for (std::int64_t j = threadIdx.x; j < a.n; j += blockDim.x) {
    const float v = static_cast<float>(xi[j]);
    if (staged) row[j] = v;  // each thread reads back only the entries it wrote
    m = fmaxf(m, v);
  }
  m = block_reduce(m, slots, [](float u) { return warp_max(u); }, -INFINITY);
  float sum = 0.0f, shifted = 0.0f;
  for (std::int64_t j = threadIdx.x; j < a.n; j += blockDim.x) {
    const float d = (staged ? row[j] : static_cast<float>(xi[j])) - m;
    const float e = expf(d);
    if (staged) row[j] = e;
    sum += e;
    shifted += d;
  }
  sum = block_reduce(sum, slots, [](float u) { return warp_sum(u); }, 0.0f);
  if (a.smoothing) shifted = block_reduce(shifted, slots, [](float u) { return warp_sum(u); }, 0.0f);
  __shared__ RowGrad row_end;
  if (threadIdx.x == 0) row_end = finish_row(a, i, m, sum, shifted);
  if (!a.dx) return;
  __syncthreads();
  const RowGrad r = row_end;
  T* di = a.dx + i * a.n;
  for (std::int64_t j = threadIdx.x; j < a.n; j += blockDim.x) {
    const float e = staged ? row[j] : expf(static_cast<float>(xi[j]) - m);
    di[j] = T(dx_value(r, e, j));
  }
}

// loss[0] from the rows' terms: one block, each thread a fixed stride of rows, then a fixed tree.
template <class T>
__global__ void __launch_bounds__(1024) reduce_terms(const double* terms, std::int64_t rows, double nll_divisor,
                                                     double smooth_divisor, double eps, double classes, T* loss) {
  __shared__ double slots[32];
  double nll = 0.0, smooth = 0.0;
  for (std::int64_t i = threadIdx.x; i < rows; i += blockDim.x) {
    nll += terms[2 * i];
    smooth += terms[2 * i + 1];
  }
  nll = block_reduce(nll, slots, [](double u) { return warp_sum(u); }, 0.0);
  smooth = block_reduce(smooth, slots, [](double u) { return warp_sum(u); }, 0.0);
  if (threadIdx.x == 0)
    loss[0] = T(static_cast<float>(backend::cross_entropy_loss(nll / nll_divisor, smooth / smooth_divisor, eps, classes)));
}

// Rows up to this many classes take a warp each; longer ones a block.
constexpr std::int64_t warp_row_limit = 256;
// Shared memory a block may use without opting in to more (48 KiB on every architecture since sm_50).
constexpr std::int64_t staged_row_limit = (48 << 10) / sizeof(float) - 64;

template <class T>
void launch_warp_rows(const Args<T>& a) {
  const dim3 block(32, rows_per_block);
  const auto grid = static_cast<unsigned>((a.rows + rows_per_block - 1) / rows_per_block);
  if (a.n <= 32) warp_rows<T, 1><<<grid, block, 0, cuda_runtime::stream()>>>(a);
  else if (a.n <= 64) warp_rows<T, 2><<<grid, block, 0, cuda_runtime::stream()>>>(a);
  else if (a.n <= 128) warp_rows<T, 4><<<grid, block, 0, cuda_runtime::stream()>>>(a);
  else warp_rows<T, 8><<<grid, block, 0, cuda_runtime::stream()>>>(a);
}

template <class T>
void run(const T* x, std::int64_t rows, std::int64_t n, const std::int64_t* target, std::int64_t ignore_index,
         const float* weight, double eps, double nll_divisor, double smooth_divisor, bool per_row, T* loss, T* lse,
         const T* grad, T* dx) {
  check(n >= 1, "cuda softmax_cross_entropy: rows need at least one class, got n = ", n);
  check(rows < (std::int64_t{1} << 31), "cuda softmax_cross_entropy: ", rows,
        " rows are more than one launch takes");
  check(!dx || grad, "cuda softmax_cross_entropy: dx was asked for without grad");
  const bool reduce = loss && !per_row;
  // the rows' terms for the reduced loss: scratch from the caching allocator, released after the launches
  // are queued (the next use of the block is queued after them on the same stream)
  double* terms =
      reduce && rows > 0 ? static_cast<double*>(cuda_runtime::allocate(sizeof(double) * 2 * rows)) : nullptr;
  const Args<T> a{x, rows, n, target, ignore_index, weight, eps, nll_divisor, smooth_divisor, per_row, eps != 0.0,
                  loss, lse, grad, dx, terms};
  try {
    if (rows > 0) {
      if (n <= warp_row_limit) {
        launch_warp_rows(a);
      } else {
        const bool staged = n <= staged_row_limit;
        const unsigned threads = n >= 4096 ? 512 : 256;
        const std::size_t smem = staged ? sizeof(float) * n : 0;
        block_rows<T><<<static_cast<unsigned>(rows), threads, smem, cuda_runtime::stream()>>>(a, staged);
      }
      FASTPP_CUDA_CHECK(cudaGetLastError());
    }
    if (reduce) {
      reduce_terms<T><<<1, 1024, 0, cuda_runtime::stream()>>>(terms, rows, nll_divisor, smooth_divisor, eps,
                                                             static_cast<double>(n), loss);
      FASTPP_CUDA_CHECK(cudaGetLastError());
    }
  } catch (...) {
    cuda_runtime::release(terms);
    throw;
  }
  cuda_runtime::release(terms);
}

}  // namespace

void softmax_cross_entropy(const float* x, std::int64_t rows, std::int64_t n, const std::int64_t* target,
                           std::int64_t ignore_index, const float* weight, double eps, double nll_divisor,
                           double smooth_divisor, bool per_row, float* loss, float* lse, const float* grad, float* dx) {
  run(x, rows, n, target, ignore_index, weight, eps, nll_divisor, smooth_divisor, per_row, loss, lse, grad, dx);
}
void softmax_cross_entropy(const half* x, std::int64_t rows, std::int64_t n, const std::int64_t* target,
                           std::int64_t ignore_index, const float* weight, double eps, double nll_divisor,
                           double smooth_divisor, bool per_row, half* loss, half* lse, const half* grad, half* dx) {
  run(x, rows, n, target, ignore_index, weight, eps, nll_divisor, smooth_divisor, per_row, loss, lse, grad, dx);
}
void softmax_cross_entropy(const bfloat16* x, std::int64_t rows, std::int64_t n, const std::int64_t* target,
                           std::int64_t ignore_index, const float* weight, double eps, double nll_divisor,
                           double smooth_divisor, bool per_row, bfloat16* loss, bfloat16* lse, const bfloat16* grad,
                           bfloat16* dx) {
  run(x, rows, n, target, ignore_index, weight, eps, nll_divisor, smooth_divisor, per_row, loss, lse, grad, dx);
}

}  // namespace fastpp::cuda_kernels
