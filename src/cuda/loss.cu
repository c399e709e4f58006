// The loss kernels of fastpp::cuda (declared in backend/cuda/losses.hpp), with the contracts of the cpu's
// LossKernels (backend/cpu/loss_kernels.hpp), for float.
//
// The softmax family works row by row: a warp per row for rows up to warp_row_limit values (8 rows to a
// block), a block per row above; a row's maximum and sum of exp are reduced in float, the backward's dot
// products in double, as the cpu sums them. The per-element formulas of the sigmoid and the binary
// cross-entropy come from backend/logistic_math.hpp, which the cpu kernels run too (there with their own exp
// and log1p). Reduced losses (and scan_targets' total) are summed in double in a fixed order: a grid whose
// size depends only on the element count, each thread a fixed stride, then one block over the blocks'
// partial sums, so a result never depends on how the blocks were scheduled.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fastpp/backend/cuda/losses.hpp>
#include <fastpp/backend/logistic_math.hpp>
#include <fastpp/core/allocator.hpp>
#include <fastpp/core/error.hpp>

#include "check.hpp"
#include "reduce.cuh"
#include "stream.hpp"

namespace fastpp::cuda_kernels {

namespace {

using i64 = std::int64_t;
using reduce::block_reduce;
using reduce::full_mask;
using reduce::warp_max;
using reduce::warp_sum;

// logistic_math.hpp's transcendental functions on the GPU.
struct DeviceLogisticMath {
  __host__ __device__ static float exp_nonpos(float x) { return expf(x); }
  __host__ __device__ static float log1p(float x) { return log1pf(x); }
};

// ---- rows: a team of threads per row, a warp (block (32, rows_per_block)) or the whole block ----

constexpr int rows_per_block = 8;
// Rows up to this many values take a warp each; longer ones a block.
constexpr i64 warp_row_limit = 512;
// At most this many blocks in a grid: the kernels loop over rows and elements with the grid's stride.
constexpr i64 max_blocks = i64{1} << 16;

template <bool Warp>
struct Team {
  __device__ static int rank() { return static_cast<int>(threadIdx.x); }
  __device__ static int size() { return Warp ? 32 : static_cast<int>(blockDim.x); }
  __device__ static i64 first_row() {
    return Warp ? static_cast<i64>(blockIdx.x) * blockDim.y + threadIdx.y : static_cast<i64>(blockIdx.x);
  }
  __device__ static i64 row_stride() {
    return Warp ? static_cast<i64>(gridDim.x) * blockDim.y : static_cast<i64>(gridDim.x);
  }
};

// The reductions over a team; in a block every thread must call them (slots: 32 values of shared memory).
template <bool Warp>
__device__ float team_max(float v, float* slots) {
  if constexpr (Warp) return warp_max(v);
  else return block_reduce(v, slots, [](float u) { return warp_max(u); }, -INFINITY);
}
template <bool Warp>
__device__ float team_sum(float v, float* slots) {
  if constexpr (Warp) return warp_sum(v);
  else return block_reduce(v, slots, [](float u) { return warp_sum(u); }, 0.0f);
}
template <bool Warp>
__device__ double team_sum(double v, double* slots) {
  if constexpr (Warp) return warp_sum(v);
  else return block_reduce(v, slots, [](double u) { return warp_sum(u); }, 0.0);
}

// softmax (y_j = exp(x_j - m) / s) or log_softmax (y_j = (x_j - m) - log s), m the row's maximum and s the
// sum of exp(x_j - m).
template <bool Warp, bool Log>
__global__ void softmax_rows(const float* x, i64 rows, i64 n, float* y) {
  __shared__ float slots[32];
  using T = Team<Warp>;
  for (i64 i = T::first_row(); i < rows; i += T::row_stride()) {
    const float* xi = x + i * n;
    float* yi = y + i * n;
    float m = -INFINITY;
    for (i64 j = T::rank(); j < n; j += T::size()) m = fmaxf(m, xi[j]);
    m = team_max<Warp>(m, slots);
    float s = 0.0f;
    for (i64 j = T::rank(); j < n; j += T::size()) s += expf(xi[j] - m);
    s = team_sum<Warp>(s, slots);
    if constexpr (Log) {
      const float log_s = logf(s);
      for (i64 j = T::rank(); j < n; j += T::size()) yi[j] = (xi[j] - m) - log_s;
    } else {
      const float inv = 1.0f / s;
      for (i64 j = T::rank(); j < n; j += T::size()) yi[j] = expf(xi[j] - m) * inv;
    }
  }
}

// From the forward's output y and its gradient dy: softmax's dx_j = y_j (dy_j - sum_k dy_k y_k), or
// log_softmax's dx_j = dy_j - exp(y_j) sum_k dy_k; the sums in double.
template <bool Warp, bool Log>
__global__ void softmax_backward_rows(const float* y, const float* dy, i64 rows, i64 n, float* dx) {
  __shared__ double slots[32];
  using T = Team<Warp>;
  for (i64 i = T::first_row(); i < rows; i += T::row_stride()) {
    const float *yi = y + i * n, *dyi = dy + i * n;
    float* dxi = dx + i * n;
    double s = 0.0;
    for (i64 j = T::rank(); j < n; j += T::size())
      s += Log ? static_cast<double>(dyi[j]) : static_cast<double>(dyi[j] * yi[j]);
    const auto sa = static_cast<float>(team_sum<Warp>(s, slots));
    for (i64 j = T::rank(); j < n; j += T::size()) dxi[j] = Log ? dyi[j] - expf(yi[j]) * sa : yi[j] * (dyi[j] - sa);
  }
}

// argmax: the largest value that is not NaN and, among equal ones, the first index; none (j = -1) below all.
struct Best {
  float v;
  long long j;
};
__device__ __forceinline__ Best better(Best a, Best b) {
  return b.j >= 0 && (a.j < 0 || b.v > a.v || (b.v == a.v && b.j < a.j)) ? b : a;
}
__device__ __forceinline__ Best warp_best(Best b) {
  for (int o = 16; o > 0; o /= 2) {
    const Best other{__shfl_xor_sync(full_mask, b.v, o), __shfl_xor_sync(full_mask, b.j, o)};
    b = better(b, other);
  }
  return b;
}

// std::max_element's answer: the first index of the largest value, where a NaN is never larger, so a NaN at
// index 0 stays the answer and a NaN later is passed over; an empty row gives 0.
template <bool Warp>
__global__ void argmax_rows(const float* x, i64 rows, i64 n, i64* out) {
  __shared__ Best slots[32];
  using T = Team<Warp>;
  for (i64 i = T::first_row(); i < rows; i += T::row_stride()) {
    const float* xi = x + i * n;
    Best b{-INFINITY, -1};
    for (i64 j = T::rank(); j < n; j += T::size()) {  // each thread's indices rise: the first of its ties stays
      const float v = xi[j];
      if (!isnan(v) && (b.j < 0 || v > b.v)) b = Best{v, static_cast<long long>(j)};
    }
    if constexpr (Warp) b = warp_best(b);
    else b = block_reduce(b, slots, [](Best u) { return warp_best(u); }, Best{-INFINITY, -1});
    if (T::rank() == 0) out[i] = n == 0 || isnan(xi[0]) || b.j < 0 ? 0 : static_cast<i64>(b.j);
  }
}

unsigned grid_for(i64 units, i64 per_block) {
  return static_cast<unsigned>(std::clamp<i64>((units + per_block - 1) / per_block, 1, max_blocks));
}

// Launches Kernel<true> (a warp per row) or Kernel<false> (a block per row) for rows of n values.
template <class WarpLaunch, class BlockLaunch>
void launch_rows(i64 rows, i64 n, WarpLaunch warp_launch, BlockLaunch block_launch) {
  check(rows >= 0 && n >= 0, "cuda loss kernel: negative shape (", rows, ", ", n, ")");
  if (rows == 0) return;
  if (n <= warp_row_limit) warp_launch(grid_for(rows, rows_per_block), dim3(32, rows_per_block));
  else block_launch(grid_for(rows, 1), dim3(n >= 4096 ? 512 : 256));
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

template <bool Log>
void softmax_forward(const float* x, i64 rows, i64 n, float* y) {
  const cudaStream_t s = cuda_runtime::stream();
  launch_rows(
      rows, n, [&](unsigned g, dim3 b) { softmax_rows<true, Log><<<g, b, 0, s>>>(x, rows, n, y); },
      [&](unsigned g, dim3 b) { softmax_rows<false, Log><<<g, b, 0, s>>>(x, rows, n, y); });
}
template <bool Log>
void softmax_backward_of(const float* y, const float* dy, i64 rows, i64 n, float* dx) {
  const cudaStream_t s = cuda_runtime::stream();
  launch_rows(
      rows, n, [&](unsigned g, dim3 b) { softmax_backward_rows<true, Log><<<g, b, 0, s>>>(y, dy, rows, n, dx); },
      [&](unsigned g, dim3 b) { softmax_backward_rows<false, Log><<<g, b, 0, s>>>(y, dy, rows, n, dx); });
}

// ---- element-wise kernels ----

template <class F>
__global__ void each_element(F f, i64 count) {
  const i64 stride = static_cast<i64>(gridDim.x) * blockDim.x;
  for (i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) f(i);
}

template <class F>
void for_each_element(i64 count, F f) {
  check(count >= 0, "cuda loss kernel: negative element count ", count);
  if (count == 0) return;
  each_element<<<grid_for(count, 256), 256, 0, cuda_runtime::stream()>>>(f, count);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

// ---- sums in a fixed order ----

constexpr int sum_threads = 256;

// The grid of a fixed-order sum over count terms: its size depends on count only.
unsigned sum_blocks(i64 count) { return static_cast<unsigned>(std::clamp<i64>((count + 4095) / 4096, 1, 1024)); }

template <class Term>
__global__ void __launch_bounds__(sum_threads) partial_sums(Term term, i64 count, double* partials) {
  __shared__ double slots[32];
  const i64 stride = static_cast<i64>(gridDim.x) * sum_threads;
  double s = 0.0;
  for (i64 i = static_cast<i64>(blockIdx.x) * sum_threads + threadIdx.x; i < count; i += stride) s += term(i);
  s = block_reduce(s, slots, [](double u) { return warp_sum(u); }, 0.0);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

template <class Finish>
__global__ void __launch_bounds__(1024) finish_sum(const double* partials, int count, Finish finish) {
  __shared__ double slots[32];
  double s = 0.0;
  for (int i = static_cast<int>(threadIdx.x); i < count; i += static_cast<int>(blockDim.x)) s += partials[i];
  s = block_reduce(s, slots, [](double u) { return warp_sum(u); }, 0.0);
  if (threadIdx.x == 0) finish(s);
}

// finish(sum over i < count of term(i)), queued on the current stream; the partial sums' scratch comes
// from the caching allocator and goes back once the launches are queued (its next user is queued after
// them).
template <class Term, class Finish>
void fixed_order_sum(i64 count, Term term, Finish finish) {
  check(count >= 0, "cuda loss kernel: negative element count ", count);
  const unsigned blocks = sum_blocks(count);
  auto* partials = static_cast<double*>(cuda_runtime::allocate(sizeof(double) * blocks));
  try {
    const cudaStream_t s = cuda_runtime::stream();
    partial_sums<<<blocks, sum_threads, 0, s>>>(term, count, partials);
    FASTPP_CUDA_CHECK(cudaGetLastError());
    finish_sum<<<1, 1024, 0, s>>>(partials, static_cast<int>(blocks), finish);
    FASTPP_CUDA_CHECK(cudaGetLastError());
  } catch (...) {
    cuda_runtime::release(partials);
    throw;
  }
  cuda_runtime::release(partials);
}

// loss[0] = sum / divisor
struct WriteMean {
  float* loss;
  double divisor;
  __device__ void operator()(double sum) const { loss[0] = static_cast<float>(sum / divisor); }
};

// ---- class-index targets ----

struct ScanState {
  unsigned long long bad;  // the lowest bad row, or all ones
  long long value;         // its target
  double total;
};

struct ScanTerm {
  const i64* t;
  i64 classes, ignore_index;
  const float* weight;
  ScanState* state;
  __device__ double operator()(i64 i) const {
    const i64 ti = t[i];
    if (ti == ignore_index) return 0.0;
    if (ti < 0 || ti >= classes) {
      atomicMin(&state->bad, static_cast<unsigned long long>(i));
      return 0.0;
    }
    return weight ? static_cast<double>(weight[ti]) : 1.0;
  }
};

struct ScanFinish {
  const i64* t;
  ScanState* state;
  __device__ void operator()(double sum) const {
    state->total = sum;
    const unsigned long long bad = state->bad;
    state->value = bad == ~0ull ? 0 : static_cast<long long>(t[bad]);
  }
};

template <class I>
struct Widen {
  const I* in;
  i64* out;
  __device__ void operator()(i64 i) const { out[i] = static_cast<i64>(in[i]); }
};

// Row i's nll term: -w[t_i] logp[i, t_i] in double, 0 when ignored.
struct NllTerm {
  const float* logp;
  i64 n;
  const i64* t;
  i64 ignore_index;
  const float* weight;
  __device__ double operator()(i64 i) const {
    const i64 ti = t[i];
    if (ti == ignore_index) return 0.0;
    const double w = weight ? static_cast<double>(weight[ti]) : 1.0;
    return -w * static_cast<double>(logp[i * n + ti]);
  }
};
struct NllPerRow {
  NllTerm term;
  float* loss;
  __device__ void operator()(i64 i) const { loss[i] = static_cast<float>(term(i)); }
};
// dlogp[i, t_i] = -w[t_i] g / divisor (the rest was zeroed).
struct NllBackward {
  i64 n;
  const i64* t;
  i64 ignore_index;
  const float* weight;
  double divisor;
  bool per_row;
  const float* grad;
  float* dx;
  __device__ void operator()(i64 i) const {
    const i64 ti = t[i];
    if (ti == ignore_index) return;
    const double w = weight ? static_cast<double>(weight[ti]) : 1.0;
    dx[i * n + ti] = static_cast<float>(-w * static_cast<double>(grad[per_row ? i : 0]) / divisor);
  }
};

// ---- sigmoid and binary cross-entropy on logits ----

struct Sigmoid {
  const float* x;
  float* y;
  __device__ void operator()(i64 i) const { y[i] = backend::sigmoid_value<DeviceLogisticMath>(x[i]); }
};
struct SigmoidBackward {
  const float *y, *dy;
  float* dx;
  __device__ void operator()(i64 i) const { dx[i] = backend::sigmoid_grad_value(y[i], dy[i]); }
};

// Element i of rows of n, weights along the last axis.
struct BceArgs {
  const float *x, *y;
  i64 n;
  const float *weight, *pos_weight;
  __device__ float loss(i64 i) const {
    const i64 c = i % n;
    return backend::bce_value<DeviceLogisticMath>(x[i], y[i], weight ? weight[c] : 1.0f,
                                                  pos_weight ? pos_weight[c] : 1.0f);
  }
  __device__ float grad(i64 i) const {
    const i64 c = i % n;
    return backend::bce_grad_value<DeviceLogisticMath>(x[i], y[i], weight ? weight[c] : 1.0f,
                                                       pos_weight ? pos_weight[c] : 1.0f);
  }
};
struct BcePerElement {
  BceArgs a;
  float* loss;
  __device__ void operator()(i64 i) const { loss[i] = a.loss(i); }
};
struct BceTerm {
  BceArgs a;
  __device__ double operator()(i64 i) const { return static_cast<double>(a.loss(i)); }
};
struct BceBackward {
  BceArgs a;
  double divisor;
  bool per_element;
  const float* grad;
  float* dx;
  __device__ void operator()(i64 i) const {
    const float g = per_element ? grad[i] : static_cast<float>(static_cast<double>(grad[0]) / divisor);
    dx[i] = a.grad(i) * g;
  }
};

}  // namespace

void softmax(const float* x, std::int64_t rows, std::int64_t n, float* y) { softmax_forward<false>(x, rows, n, y); }
void log_softmax(const float* x, std::int64_t rows, std::int64_t n, float* y) {
  softmax_forward<true>(x, rows, n, y);
}
void softmax_backward(const float* y, const float* dy, std::int64_t rows, std::int64_t n, float* dx) {
  softmax_backward_of<false>(y, dy, rows, n, dx);
}
void log_softmax_backward(const float* y, const float* dy, std::int64_t rows, std::int64_t n, float* dx) {
  softmax_backward_of<true>(y, dy, rows, n, dx);
}
void argmax(const float* x, std::int64_t rows, std::int64_t n, std::int64_t* out) {
  const cudaStream_t s = cuda_runtime::stream();
  launch_rows(
      rows, n, [&](unsigned g, dim3 b) { argmax_rows<true><<<g, b, 0, s>>>(x, rows, n, out); },
      [&](unsigned g, dim3 b) { argmax_rows<false><<<g, b, 0, s>>>(x, rows, n, out); });
}

double scan_targets(const std::int64_t* t, std::int64_t rows, std::int64_t classes, std::int64_t ignore_index,
                    const float* weight, std::int64_t* bad_row, std::int64_t* bad_value) {
  check(rows >= 0, "cuda scan_targets: negative row count ", rows);
  const cudaStream_t s = cuda_runtime::stream();
  auto* state = static_cast<ScanState*>(cuda_runtime::allocate(sizeof(ScanState)));
  ScanState host{};
  try {
    FASTPP_CUDA_CHECK(cudaMemsetAsync(&state->bad, 0xff, sizeof(state->bad), s));
    fixed_order_sum(rows, ScanTerm{t, classes, ignore_index, weight, state}, ScanFinish{t, state});
    FASTPP_CUDA_CHECK(cudaMemcpyAsync(&host, state, sizeof(ScanState), cudaMemcpyDeviceToHost, s));
    FASTPP_CUDA_CHECK(cudaStreamSynchronize(s));
  } catch (...) {
    cuda_runtime::release(state);
    throw;
  }
  cuda_runtime::release(state);
  if (host.bad != ~0ull) {
    *bad_row = static_cast<std::int64_t>(host.bad);
    *bad_value = host.value;
    return 0.0;
  }
  *bad_row = -1;
  *bad_value = 0;
  return host.total;
}

void widen_targets(const std::int32_t* in, std::int64_t count, std::int64_t* out) {
  for_each_element(count, Widen<std::int32_t>{in, out});
}
void widen_targets(const std::uint8_t* in, std::int64_t count, std::int64_t* out) {
  for_each_element(count, Widen<std::uint8_t>{in, out});
}

void nll_loss(const float* logp, std::int64_t rows, std::int64_t n, const std::int64_t* t, std::int64_t ignore_index,
              const float* weight, double divisor, bool per_row, float* loss) {
  const NllTerm term{logp, n, t, ignore_index, weight};
  if (per_row) for_each_element(rows, NllPerRow{term, loss});
  else fixed_order_sum(rows, term, WriteMean{loss, divisor});
}

void nll_loss_backward(std::int64_t rows, std::int64_t n, const std::int64_t* t, std::int64_t ignore_index,
                       const float* weight, double divisor, bool per_row, const float* grad, float* dx) {
  check(rows >= 0 && n >= 0, "cuda nll_loss_backward: negative shape (", rows, ", ", n, ")");
  if (rows == 0 || n == 0) return;
  FASTPP_CUDA_CHECK(cudaMemsetAsync(dx, 0, sizeof(float) * static_cast<std::size_t>(rows * n), cuda_runtime::stream()));
  for_each_element(rows, NllBackward{n, t, ignore_index, weight, divisor, per_row, grad, dx});
}

void sigmoid(const float* x, std::int64_t count, float* y) { for_each_element(count, Sigmoid{x, y}); }
void sigmoid_backward(const float* y, const float* dy, std::int64_t count, float* dx) {
  for_each_element(count, SigmoidBackward{y, dy, dx});
}

void bce_with_logits(const float* x, const float* y, std::int64_t count, std::int64_t n, const float* weight,
                     const float* pos_weight, double divisor, bool per_element, float* loss) {
  // whole rows only, as the cpu kernel
  const i64 used = n <= 0 ? 0 : count / n * n;
  const BceArgs a{x, y, n, weight, pos_weight};
  if (per_element) for_each_element(used, BcePerElement{a, loss});
  else fixed_order_sum(used, BceTerm{a}, WriteMean{loss, divisor});
}

void bce_with_logits_backward(const float* x, const float* y, std::int64_t count, std::int64_t n, const float* weight,
                              const float* pos_weight, double divisor, bool per_element, const float* grad,
                              float* dx) {
  if (n <= 0) return;  // no element has a class
  for_each_element(count, BceBackward{BceArgs{x, y, n, weight, pos_weight}, divisor, per_element, grad, dx});
}

}  // namespace fastpp::cuda_kernels
