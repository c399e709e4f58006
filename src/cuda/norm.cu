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
#include "stream.hpp"

namespace fastpp::cuda_kernels {

namespace {

constexpr int block_threads = 256;
constexpr int finish_lanes = 32, finish_rows = 8;

// The tile of a [rows, c] pass: cw channels by block_threads / cw row lanes.
struct Tile {
  int cw, lanes;
  i64 tiles;  // channel tiles
};
Tile tile_for(i64 c) {
  int cw = 1;
  while (cw < 32 && cw < c) cw *= 2;
  return {cw, block_threads / cw, (c + cw - 1) / cw};
}

enum class Sums { shifted_moments, grad };

// Stage 1: for the channels of tile blockIdx.x and the rows of chunk blockIdx.y, in double,
//   shifted_moments: s1 = sum (x - K), s2 = sum (x - K)^2 with K = a[0, j];
//   grad:            s1 = sum b (dy),   s2 = sum b * a (dy * xhat).
// Writes p1[chunk * c + j] and p2[chunk * c + j].
template <Sums S>
__global__ void __launch_bounds__(block_threads) channel_partials(const float* a, const float* b, i64 rows, i64 c,
                                                                  int cw, i64 chunk_rows, double* p1, double* p2) {
  __shared__ double s1s[block_threads], s2s[block_threads];
  const int tx = static_cast<int>(threadIdx.x) % cw, ty = static_cast<int>(threadIdx.x) / cw;
  const int lanes = block_threads / cw;
  const i64 j = static_cast<i64>(blockIdx.x) * cw + tx;
  const i64 r0 = static_cast<i64>(blockIdx.y) * chunk_rows;
  const i64 r1 = r0 + chunk_rows < rows ? r0 + chunk_rows : rows;
  double s1 = 0.0, s2 = 0.0;
  if (j < c) {
    if constexpr (S == Sums::shifted_moments) {
      const double k = a[j];
#pragma unroll 4
      for (i64 r = r0 + ty; r < r1; r += lanes) {
        const double d = static_cast<double>(a[r * c + j]) - k;
        s1 += d;
        s2 += d * d;
      }
    } else {
#pragma unroll 4
      for (i64 r = r0 + ty; r < r1; r += lanes) {
        const float g = b[r * c + j];
        s1 += g;
        s2 += static_cast<double>(g) * a[r * c + j];
      }
    }
  }
  s1s[threadIdx.x] = s1;
  s2s[threadIdx.x] = s2;
  __syncthreads();
  if (ty == 0 && j < c) {
    for (int l = 1; l < lanes; ++l) {  // the row lanes in order: the same sums on every run
      s1 += s1s[l * cw + tx];
      s2 += s2s[l * cw + tx];
    }
    p1[static_cast<i64>(blockIdx.y) * c + j] = s1;
    p2[static_cast<i64>(blockIdx.y) * c + j] = s2;
  }
}

// Stage 2's common part: channel j's totals over `chunks` partials, in a fixed order; valid in the
// threads with threadIdx.y == 0. Blocks of finish_lanes x finish_rows threads.
__device__ void channel_totals(const double* p1, const double* p2, i64 chunks, i64 c, i64 j, double& t1,
                               double& t2) {
  __shared__ double s1s[finish_rows][finish_lanes], s2s[finish_rows][finish_lanes];
  double s1 = 0.0, s2 = 0.0;
  if (j < c)
    for (i64 k = threadIdx.y; k < chunks; k += finish_rows) {
      s1 += p1[k * c + j];
      s2 += p2[k * c + j];
    }
  s1s[threadIdx.y][threadIdx.x] = s1;
  s2s[threadIdx.y][threadIdx.x] = s2;
  __syncthreads();
  t1 = 0.0;
  t2 = 0.0;
  if (threadIdx.y == 0)
    for (int l = 0; l < finish_rows; ++l) {
      t1 += s1s[l][threadIdx.x];
      t2 += s2s[l][threadIdx.x];
    }
}

// Training forward's stage 2: the batch mean and biased variance, invstd, and the running update.
__global__ void __launch_bounds__(finish_lanes * finish_rows)
    finish_stats(const double* p1, const double* p2, i64 chunks, const float* x, i64 rows, i64 c, float momentum,
                 float eps, float* running_mean, float* running_var, float* mean_out, float* invstd) {
  const i64 j = static_cast<i64>(blockIdx.x) * finish_lanes + threadIdx.x;
  double t1, t2;
  channel_totals(p1, p2, chunks, c, j, t1, t2);
  if (threadIdx.y != 0 || j >= c) return;
  const double n = static_cast<double>(rows);
  const double k = rows > 0 ? static_cast<double>(x[j]) : 0.0;
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

// The element passes: the channels of tile blockIdx.x, rows in a grid-stride loop over blockIdx.y.
// y = affine(xhat(x)), xhat written when not null; y may be x.
__global__ void __launch_bounds__(block_threads) affine_rows(const float* x, i64 rows, i64 c, int cw,
                                                             const float* mean, const float* invstd,
                                                             const float* gamma, const float* beta, float* y,
                                                             float* xhat) {
  const int tx = static_cast<int>(threadIdx.x) % cw, ty = static_cast<int>(threadIdx.x) / cw;
  const int lanes = block_threads / cw;
  const i64 j = static_cast<i64>(blockIdx.x) * cw + tx;
  if (j >= c) return;
  const float m = mean[j], s = invstd[j], g = gamma[j], b = beta[j];
  const i64 step = static_cast<i64>(gridDim.y) * lanes;
  for (i64 r = static_cast<i64>(blockIdx.y) * lanes + ty; r < rows; r += step) {
    const float h = backend::batchnorm_xhat(x[r * c + j], m, s);
    if (xhat) xhat[r * c + j] = h;
    y[r * c + j] = backend::batchnorm_affine(h, g, b);
  }
}
// dx = a (dy - mb - xhat mh); dx may be dy.
__global__ void __launch_bounds__(block_threads) dx_rows(const float* xhat, const float* dy, i64 rows, i64 c, int cw,
                                                         const float* a, const float* mb, const float* mh,
                                                         float* dx) {
  const int tx = static_cast<int>(threadIdx.x) % cw, ty = static_cast<int>(threadIdx.x) / cw;
  const int lanes = block_threads / cw;
  const i64 j = static_cast<i64>(blockIdx.x) * cw + tx;
  if (j >= c) return;
  const float ka = a[j], kb = mb[j], kh = mh[j];
  const i64 step = static_cast<i64>(gridDim.y) * lanes;
  for (i64 r = static_cast<i64>(blockIdx.y) * lanes + ty; r < rows; r += step)
    dx[r * c + j] = backend::batchnorm_dx(ka, dy[r * c + j], kb, xhat[r * c + j], kh);
}

// The stage-1 grid: chunks of rows so that tiles * chunks is ~8 blocks a multiprocessor, each thread at
// least 4 rows (fewer, longer chunks for few rows), within gridDim.y's 65535.
struct Chunks {
  i64 count, rows;
};
Chunks chunks_for(i64 rows, const Tile& t) {
  if (rows <= 0) return {0, 0};
  const i64 target = std::int64_t{8} * cuda_launch::multiprocessors();
  const i64 min_rows = std::int64_t{4} * t.lanes;
  i64 count = target / t.tiles;
  const i64 most = (rows + min_rows - 1) / min_rows;
  count = count < most ? count : most;
  count = count < 1 ? 1 : count > 65535 ? 65535 : count;
  const i64 per = (rows + count - 1) / count;
  return {(rows + per - 1) / per, per};
}

// The element passes' grid: channel tiles by enough row blocks for ~8 blocks a multiprocessor in all.
dim3 element_grid(i64 rows, const Tile& t) {
  const i64 target = std::int64_t{8} * cuda_launch::multiprocessors();
  i64 ry = (target + t.tiles - 1) / t.tiles;
  const i64 need = (rows + t.lanes - 1) / t.lanes;
  ry = ry < need ? ry : need;
  ry = ry < 1 ? 1 : ry > 65535 ? 65535 : ry;
  return dim3(static_cast<unsigned>(t.tiles), static_cast<unsigned>(ry));
}

void check_shape(i64 rows, i64 c, const char* what) {
  check(rows >= 0 && c >= 0, what, ": negative shape [", rows, ", ", c, "]");
  check(c <= std::int64_t{65535} * 32, what, ": ", c, " channels are more than one launch takes");
}

// Scratch for two partial arrays [chunks, c] of doubles and `floats` arrays [c] of floats, in one block.
struct Scratch {
  void* block = nullptr;
  double *p1 = nullptr, *p2 = nullptr;
  float* f = nullptr;
  Scratch(i64 chunks, i64 c, int floats) {
    const auto parts = static_cast<std::size_t>(chunks * c), cs = static_cast<std::size_t>(c);
    block = cuda_runtime::allocate(sizeof(double) * 2 * parts + sizeof(float) * floats * cs + 16);
    p1 = static_cast<double*>(block);
    p2 = p1 + parts;
    f = reinterpret_cast<float*>(p2 + parts);
  }
  ~Scratch() { cuda_runtime::release(block); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

}  // namespace

void batchnorm_forward(const float* x, i64 rows, i64 c, bool training, float momentum, float eps, const float* gamma,
                       const float* beta, float* running_mean, float* running_var, float* y, float* xhat,
                       float* invstd) {
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

void batchnorm_backward(const float* xhat, const float* dy, i64 rows, i64 c, const float* gamma, const float* invstd,
                        bool frozen_stats, float* dgamma, float* dbeta, float* dx) {
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

}  // namespace fastpp::cuda_kernels
