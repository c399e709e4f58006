// Batch normalisation over x[rows, c] (NHWC: rows = N*H*W; BatchNorm1d: rows = N) for fastpp::cuda
// (declared in backend/cuda/layers.hpp), with the cpu's contracts (backend/cpu/detail/norm.hpp); the
// per-channel and per-element formulas are backend/batchnorm_channel.hpp's, which the cpu runs too.
//
// Design. Every pass reads the [rows, c] array row by row with the channels across the lanes of a warp, so
// each load of a warp is a contiguous run of the row (coalesced), and each thread keeps one channel's
// coefficients in registers:
//   - a block is a tile of `cw` channels by 256 / cw row lanes: cw = 32 where c >= 32, else the smallest
//     power of two >= c, so a warp still reads 128 contiguous bytes (32 / cw whole rows) when c is small;
//   - the per-channel sums are a two-stage reduction: stage 1 gives each block a chunk of rows
//     (grid = channel tiles x row chunks, the chunk count chosen to put ~8 blocks on each multiprocessor,
//     at least 4 rows a thread), each thread sums its rows of its channel in double, the block adds its
//     row lanes in a fixed order and writes one partial per channel and chunk; stage 2 (one block per 32
//     channels) adds a channel's partials in a fixed order and computes the per-channel results. No atomics:
//     the result is the same on every run.
//   - forward statistics in one read of x, not the cpu's two (mean, then squared deviations): each channel
//     is shifted by its first row's value K, and the sums of (x - K) and (x - K)^2 are taken in double;
//     var = E[(x-K)^2] - E[x-K]^2. The shift keeps the cancellation at (mean - K)^2 / var, a few units for a
//     sample value K, so in double the variance is as good as the two-pass one in float's terms.
//   - the element passes (y and xhat; dx) are a grid over channel tiles and a grid-stride loop over rows.
// The tile, stage 1 and the element passes live in norm_tiles.hpp (norm_sync.cu uses them too).
// Scratch (the partials and the per-channel coefficients) comes from the caching allocator and goes back
// once the kernels are queued: the allocator's next user of the block queues after them on the same stream.
#include <cuda_runtime.h>

#include <cstdint>
#include <fastpp/backend/batchnorm_channel.hpp>
#include <fastpp/backend/cuda/layers.hpp>
#include <fastpp/core/allocator.hpp>
#include <fastpp/core/error.hpp>

#include "check.hpp"
#include "launch.hpp"
#include "norm_tiles.hpp"
#include "stream.hpp"

namespace fastpp::cuda_kernels {

namespace {

// Training forward's stage 2: the batch mean and biased variance, invstd, and the running update. x's storage T
// as in norm_tiles.hpp (K, the shift, is x's first row read as float).
template <class T>
__global__ void __launch_bounds__(finish_lanes * finish_rows)
    finish_stats(const double* p1, const double* p2, i64 chunks, const T* x, i64 rows, i64 c, float momentum,
                 float eps, float* running_mean, float* running_var, float* mean_out, float* invstd) {
  const i64 j = static_cast<i64>(blockIdx.x) * finish_lanes + threadIdx.x;
  double t1, t2;
  channel_totals(p1, p2, chunks, c, j, t1, t2);
  if (threadIdx.y != 0 || j >= c) return;
  const double n = static_cast<double>(rows);
  const double k = rows > 0 ? static_cast<double>(static_cast<float>(x[j])) : 0.0;
  const double d = t1 / n;  // mean - K
  double var = t2 / n - d * d;
  var = var > 0.0 ? var : 0.0;  // rounding may leave a constant channel's variance a hair below zero
  const double mean = k + d;
  mean_out[j] = static_cast<float>(mean);
  invstd[j] = backend::batchnorm_invstd(var, eps);
  backend::batchnorm_running_update(mean, var, rows, momentum, running_mean[j], running_var[j]);
}

// Evaluation: invstd from the running variance (the running mean is the mean).
__global__ void eval_invstd(const float* running_var, i64 c, float eps, float* invstd) {
  for (i64 j = cuda_launch::first_index(); j < c; j += cuda_launch::grid_step())
    invstd[j] = backend::batchnorm_invstd(static_cast<double>(running_var[j]), eps);
}

// Backward's stage 2: adds dgamma and dbeta, and writes dx's coefficients.
__global__ void __launch_bounds__(finish_lanes * finish_rows)
    finish_grad(const double* p1, const double* p2, i64 chunks, i64 rows, i64 c, const float* gamma,
                const float* invstd, bool frozen_stats, float* dgamma, float* dbeta, float* a, float* mb, float* mh) {
  const i64 j = static_cast<i64>(blockIdx.x) * finish_lanes + threadIdx.x;
  double sum, sumh;
  channel_totals(p1, p2, chunks, c, j, sum, sumh);
  if (threadIdx.y != 0 || j >= c) return;
  if (dgamma) dgamma[j] += static_cast<float>(sumh);
  if (dbeta) dbeta[j] += static_cast<float>(sum);
  if (a) {
    const backend::BatchNormGradCoeffs k = backend::batchnorm_grad_coeffs(sum, sumh, rows, gamma[j], invstd[j],
                                                                          frozen_stats);
    a[j] = k.a;
    mb[j] = k.mb;
    mh[j] = k.mh;
  }
}

// The entries over T = float, or half or bfloat16 for mixed_layer_kernels: statistics, coefficients and their
// sums in float and double as for float, the activations stored as T.
template <class T>
void batchnorm_forward_impl(const T* x, i64 rows, i64 c, bool training, float momentum, float eps,
                            const float* gamma, const float* beta, float* running_mean, float* running_var, T* y,
                            T* xhat, float* invstd) {
  check_shape(rows, c, "cuda batchnorm_forward");
  if (c == 0) return;
  const Tile t = tile_for(c);
  const cudaStream_t s = cuda_runtime::stream();
  const unsigned finish_blocks = static_cast<unsigned>((c + finish_lanes - 1) / finish_lanes);
  const float* mean = running_mean;
  const Chunks ch = training ? chunks_for(rows, t) : Chunks{0, 0};
  Scratch scratch(ch.count, c, training ? 1 : 0);
  if (training) {
    if (ch.count > 0) {
      channel_partials<Sums::shifted_moments>
          <<<dim3(static_cast<unsigned>(t.tiles), static_cast<unsigned>(ch.count)), block_threads, 0, s>>>(
              x, nullptr, rows, c, t.cw, ch.rows, scratch.p1, scratch.p2);
      FASTPP_CUDA_CHECK(cudaGetLastError());
    }
    finish_stats<<<finish_blocks, dim3(finish_lanes, finish_rows), 0, s>>>(
        scratch.p1, scratch.p2, ch.count, x, rows, c, momentum, eps, running_mean, running_var, scratch.f, invstd);
    FASTPP_CUDA_CHECK(cudaGetLastError());
    mean = scratch.f;
  } else {
    eval_invstd<<<cuda_launch::blocks_for(c, cuda_launch::threads), cuda_launch::threads, 0, s>>>(running_var, c,
                                                                                                 eps, invstd);
    FASTPP_CUDA_CHECK(cudaGetLastError());
  }
  if (rows > 0) {
    affine_rows<<<element_grid(rows, t), block_threads, 0, s>>>(x, rows, c, t.cw, mean, invstd, gamma, beta, y,
                                                                xhat);
    FASTPP_CUDA_CHECK(cudaGetLastError());
  }
}

template <class T>
void batchnorm_backward_impl(const T* xhat, const T* dy, i64 rows, i64 c, const float* gamma, const float* invstd,
                             bool frozen_stats, float* dgamma, float* dbeta, T* dx) {
  check_shape(rows, c, "cuda batchnorm_backward");
  if (c == 0 || (!dgamma && !dbeta && !dx)) return;
  const Tile t = tile_for(c);
  const cudaStream_t s = cuda_runtime::stream();
  // dx with frozen statistics needs no sums: only dgamma and dbeta ask for them then
  const bool sums = dgamma || dbeta || !frozen_stats;
  const Chunks ch = sums ? chunks_for(rows, t) : Chunks{0, 0};
  Scratch scratch(ch.count, c, dx ? 3 : 0);
  if (ch.count > 0) {
    channel_partials<Sums::grad><<<dim3(static_cast<unsigned>(t.tiles), static_cast<unsigned>(ch.count)),
                                   block_threads, 0, s>>>(xhat, dy, rows, c, t.cw, ch.rows, scratch.p1, scratch.p2);
    FASTPP_CUDA_CHECK(cudaGetLastError());
  }
  float* a = dx ? scratch.f : nullptr;
  float* mb = dx ? scratch.f + c : nullptr;
  float* mh = dx ? scratch.f + 2 * c : nullptr;
  finish_grad<<<static_cast<unsigned>((c + finish_lanes - 1) / finish_lanes), dim3(finish_lanes, finish_rows), 0,
                s>>>(scratch.p1, scratch.p2, ch.count, rows, c, gamma, invstd, frozen_stats, dgamma, dbeta, a, mb,
                     mh);
  FASTPP_CUDA_CHECK(cudaGetLastError());
  if (dx && rows > 0) {
    dx_rows<<<element_grid(rows, t), block_threads, 0, s>>>(xhat, dy, rows, c, t.cw, a, mb, mh, dx);
    FASTPP_CUDA_CHECK(cudaGetLastError());
  }
}

}  // namespace

void batchnorm_forward(const float* x, i64 rows, i64 c, bool training, float momentum, float eps, const float* gamma,
                       const float* beta, float* running_mean, float* running_var, float* y, float* xhat,
                       float* invstd) {
  batchnorm_forward_impl(x, rows, c, training, momentum, eps, gamma, beta, running_mean, running_var, y, xhat,
                         invstd);
}

void batchnorm_backward(const float* xhat, const float* dy, i64 rows, i64 c, const float* gamma, const float* invstd,
                        bool frozen_stats, float* dgamma, float* dbeta, float* dx) {
  batchnorm_backward_impl(xhat, dy, rows, c, gamma, invstd, frozen_stats, dgamma, dbeta, dx);
}

namespace mixed {

template <class A>
void batchnorm_forward(const A* x, i64 rows, i64 c, bool training, float momentum, float eps, const float* gamma,
                       const float* beta, float* running_mean, float* running_var, A* y, A* xhat, float* invstd) {
  batchnorm_forward_impl(x, rows, c, training, momentum, eps, gamma, beta, running_mean, running_var, y, xhat,
                         invstd);
}
template <class A>
void batchnorm_backward(const A* xhat, const A* dy, i64 rows, i64 c, const float* gamma, const float* invstd,
                        bool frozen_stats, float* dgamma, float* dbeta, A* dx) {
  batchnorm_backward_impl(xhat, dy, rows, c, gamma, invstd, frozen_stats, dgamma, dbeta, dx);
}

#define FASTPP_NORM_INSTANTIATE(A)                                                                              \
  template void batchnorm_forward(const A*, i64, i64, bool, float, float, const float*, const float*, float*,  \
                                  float*, A*, A*, float*);                                                      \
  template void batchnorm_backward(const A*, const A*, i64, i64, const float*, const float*, bool, float*, float*, \
                                   A*);
FASTPP_NORM_INSTANTIATE(half)
FASTPP_NORM_INSTANTIATE(bfloat16)
#undef FASTPP_NORM_INSTANTIATE

}  // namespace mixed

}  // namespace fastpp::cuda_kernels
