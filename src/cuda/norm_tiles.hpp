#pragma once
// The shared parts of batch normalisation's CUDA kernels (src/cuda/norm.cu, src/cuda/norm_sync.cu): the tile
// of a [rows, c] pass, stage 1 of the per-channel sums and stage 2's common part, the element passes (y and
// xhat; dx), their grids and the scratch block. The design is described at the top of norm.cu. Internal to
// fastpp::cuda's .cu files (each includes it once; everything here has internal linkage).
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>
#include <fastpp/backend/batchnorm_channel.hpp>
#include <fastpp/backend/cuda/layers.hpp>
#include <fastpp/core/allocator.hpp>
#include <fastpp/core/error.hpp>

#include "launch.hpp"

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

enum class Sums { shifted_moments, grad, raw_moments };

// Stage 1: for the channels of tile blockIdx.x and the rows of chunk blockIdx.y, in double,
//   shifted_moments: s1 = sum (x - K), s2 = sum (x - K)^2 with K = a[0, j];
//   raw_moments:     s1 = sum x,       s2 = sum x^2 (synchronised BatchNorm: sums added over processes);
//   grad:            s1 = sum b (dy),   s2 = sum b * a (dy * xhat).
// Writes p1[chunk * c + j] and p2[chunk * c + j]. T, the arrays' storage (float, or half or bfloat16 for
// mixed_layer_kernels), is read as float; b's type follows a's (b may be nullptr).
template <Sums S, class T>
__global__ void __launch_bounds__(block_threads)
    channel_partials(const T* a, const std::type_identity_t<T>* b, i64 rows, i64 c, int cw, i64 chunk_rows,
                     double* p1, double* p2) {
  __shared__ double s1s[block_threads], s2s[block_threads];
  const int tx = static_cast<int>(threadIdx.x) % cw, ty = static_cast<int>(threadIdx.x) / cw;
  const int lanes = block_threads / cw;
  const i64 j = static_cast<i64>(blockIdx.x) * cw + tx;
  const i64 r0 = static_cast<i64>(blockIdx.y) * chunk_rows;
  const i64 r1 = r0 + chunk_rows < rows ? r0 + chunk_rows : rows;
  double s1 = 0.0, s2 = 0.0;
  if (j < c) {
    if constexpr (S == Sums::shifted_moments) {
      const double k = static_cast<float>(a[j]);
#pragma unroll 4
      for (i64 r = r0 + ty; r < r1; r += lanes) {
        const double d = static_cast<double>(static_cast<float>(a[r * c + j])) - k;
        s1 += d;
        s2 += d * d;
      }
    } else if constexpr (S == Sums::raw_moments) {
#pragma unroll 4
      for (i64 r = r0 + ty; r < r1; r += lanes) {
        const double v = static_cast<float>(a[r * c + j]);
        s1 += v;
        s2 += v * v;
      }
    } else {
#pragma unroll 4
      for (i64 r = r0 + ty; r < r1; r += lanes) {
        const float g = static_cast<float>(b[r * c + j]);
        s1 += g;
        s2 += static_cast<double>(g) * static_cast<float>(a[r * c + j]);
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


// The element passes: the channels of tile blockIdx.x, rows in a grid-stride loop over blockIdx.y.
// y = affine(xhat(x)), xhat written when not null; y may be x. T as in channel_partials: read as float, each
// output rounded to T once.
template <class T>
__global__ void __launch_bounds__(block_threads) affine_rows(const T* x, i64 rows, i64 c, int cw, const float* mean,
                                                             const float* invstd, const float* gamma,
                                                             const float* beta, T* y, T* xhat) {
  const int tx = static_cast<int>(threadIdx.x) % cw, ty = static_cast<int>(threadIdx.x) / cw;
  const int lanes = block_threads / cw;
  const i64 j = static_cast<i64>(blockIdx.x) * cw + tx;
  if (j >= c) return;
  const float m = mean[j], s = invstd[j], g = gamma[j], b = beta[j];
  const i64 step = static_cast<i64>(gridDim.y) * lanes;
  for (i64 r = static_cast<i64>(blockIdx.y) * lanes + ty; r < rows; r += step) {
    const float h = backend::batchnorm_xhat(static_cast<float>(x[r * c + j]), m, s);
    if (xhat) xhat[r * c + j] = T(h);
    y[r * c + j] = T(backend::batchnorm_affine(h, g, b));
  }
}
// dx = a (dy - mb - xhat mh); dx may be dy. T as in affine_rows.
template <class T>
__global__ void __launch_bounds__(block_threads) dx_rows(const T* xhat, const std::type_identity_t<T>* dy, i64 rows,
                                                         i64 c, int cw, const float* a, const float* mb,
                                                         const float* mh, std::type_identity_t<T>* dx) {
  const int tx = static_cast<int>(threadIdx.x) % cw, ty = static_cast<int>(threadIdx.x) / cw;
  const int lanes = block_threads / cw;
  const i64 j = static_cast<i64>(blockIdx.x) * cw + tx;
  if (j >= c) return;
  const float ka = a[j], kb = mb[j], kh = mh[j];
  const i64 step = static_cast<i64>(gridDim.y) * lanes;
  for (i64 r = static_cast<i64>(blockIdx.y) * lanes + ty; r < rows; r += step)
    dx[r * c + j] = T(backend::batchnorm_dx(ka, static_cast<float>(dy[r * c + j]), kb,
                                            static_cast<float>(xhat[r * c + j]), kh));
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

}  // namespace fastpp::cuda_kernels
