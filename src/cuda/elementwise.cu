// The element-wise layer kernels of fastpp::cuda (declared in backend/cuda/layers.hpp): ReLU and its
// backward, inverted dropout, the residual sum, products, fills, and the NHWC <-> NCHW reorder behind
// Flatten. The cpu's contracts (backend/cpu/detail/elementwise.hpp), grid-stride loops over 64-bit counts.
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>
#include <fastpp/backend/cuda/layers.hpp>
#include <fastpp/core/error.hpp>
#include <fastpp/core/rng.hpp>

#include "check.hpp"
#include "launch.hpp"
#include "stream.hpp"

namespace fastpp::cuda_kernels {

namespace {

using cuda_launch::first_index;
using cuda_launch::grid_step;

// Every kernel here takes T = float, half or bfloat16 (mixed_layer_kernels): values loaded as float, computed
// in float, stored as T, one rounding an output (for float, the conversions are the identity).
template <class T>
__global__ void relu_kernel(const T* x, i64 n, T* y) {
  for (i64 i = first_index(); i < n; i += grid_step()) {
    const float v = static_cast<float>(x[i]);
    y[i] = T(v > 0.0f ? v : 0.0f);  // NaN gives 0, as on the cpu
  }
}
template <class T>
__global__ void relu_backward_kernel(const T* y, const T* dy, i64 n, T* dx) {
  for (i64 i = first_index(); i < n; i += grid_step())
    dx[i] = T(static_cast<float>(y[i]) > 0.0f ? static_cast<float>(dy[i]) : 0.0f);
}
template <class T>
__global__ void add_kernel(T* a, const T* b, i64 n) {
  for (i64 i = first_index(); i < n; i += grid_step()) {
    if constexpr (std::is_same_v<T, float>) {
      a[i] += b[i];  // the float kernel as it was (the same PTX)
    } else {
      a[i] = T(static_cast<float>(a[i]) + static_cast<float>(b[i]));
    }
  }
}
template <class T>
__global__ void multiply_kernel(const T* a, const T* b, i64 n, T* out) {
  for (i64 i = first_index(); i < n; i += grid_step()) out[i] = T(static_cast<float>(a[i]) * static_cast<float>(b[i]));
}
template <class T>
__global__ void fill_kernel(T* p, i64 n, float value) {
  for (i64 i = first_index(); i < n; i += grid_step()) p[i] = T(value);
}

// Dropout: the stream's numbers first .. first + n - 1 (first = rng.drawn()) go to elements 0 .. n - 1.
// Each thread takes one Philox block (four numbers, one evaluation of the generator) of the blocks that
// hold them, first / 4 .. (first + n - 1) / 4, and writes the up to four elements those numbers belong to.
// In half or bfloat16 the mask holds the multiplier rounded to T and y = x * (the float multiplier), rounded:
// via_float_layer_kernels' contract.
template <class T>
__global__ void dropout_kernel(const T* x, i64 n, float p, float scale, Rng rng, T* y, T* mask) {
  const std::uint64_t first = rng.drawn(), b0 = first / 4, end = first + static_cast<std::uint64_t>(n);
  const auto blocks = static_cast<i64>((end - 1) / 4 - b0 + 1);
  for (i64 t = first_index(); t < blocks; t += grid_step()) {
    const std::uint64_t b = b0 + static_cast<std::uint64_t>(t);
    const Philox4x32Block blk = rng.block_at(b);
#pragma unroll
    for (int lane = 0; lane < 4; ++lane) {
      const std::uint64_t m = 4 * b + static_cast<std::uint64_t>(lane);
      if (m < first || m >= end) continue;
      const auto i = static_cast<i64>(m - first);
      const float k = u32_to_unit_float(blk.v[lane]) < p ? 0.0f : scale;
      mask[i] = T(k);
      y[i] = T(static_cast<float>(x[i]) * k);
    }
  }
}

// y[b, j, i] = x[b, i, j] for `batch` matrices x of rows x cols: 32 x 32 tiles through shared memory, so
// both the reads (along a row of x) and the writes (along a row of y) are coalesced. Blocks of 32 x 8
// threads, each moving four elements of a tile; a grid-stride loop over the tiles of all matrices.
// A copy: T's values move unchanged.
constexpr int tile = 32, tile_rows = 8;
template <class T>
__global__ void __launch_bounds__(tile * tile_rows) transpose_kernel(const T* x, i64 batch, i64 rows, i64 cols,
                                                                     T* y) {
  __shared__ T t[tile][tile + 1];  // +1: a column of the tile falls in 32 different banks
  const i64 row_tiles = (rows + tile - 1) / tile, col_tiles = (cols + tile - 1) / tile;
  const i64 per_matrix = row_tiles * col_tiles, tiles = batch * per_matrix;
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  for (i64 k = blockIdx.x; k < tiles; k += gridDim.x) {
    i64 rem, ct;
    const i64 b = cuda_launch::divmod(k, per_matrix, rem), rt = cuda_launch::divmod(rem, col_tiles, ct);
    const T* xb = x + b * rows * cols;
    T* yb = y + b * rows * cols;
    __syncthreads();  // the previous tile's reads of t are done
    for (int r = ty; r < tile; r += tile_rows) {
      const i64 i = rt * tile + r, j = ct * tile + tx;
      if (i < rows && j < cols) t[r][tx] = xb[i * cols + j];
    }
    __syncthreads();
    for (int r = ty; r < tile; r += tile_rows) {
      const i64 j = ct * tile + r, i = rt * tile + tx;
      if (i < rows && j < cols) yb[j * rows + i] = t[tx][r];
    }
  }
}

template <class T>
void transpose(const T* x, i64 batch, i64 rows, i64 cols, T* y) {
  check(batch >= 0 && rows >= 0 && cols >= 0, "cuda nhwc/nchw reorder: negative extent");
  if (batch == 0 || rows == 0 || cols == 0) return;
  const i64 tiles = batch * ((rows + tile - 1) / tile) * ((cols + tile - 1) / tile);
  transpose_kernel<<<cuda_launch::blocks_for(tiles, 1), dim3(tile, tile_rows), 0, cuda_runtime::stream()>>>(
      x, batch, rows, cols, y);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

template <class T>
void relu_forward_impl(const T* x, i64 n, T* y) {
  if (n <= 0) return;
  relu_kernel<<<cuda_launch::blocks_for(n, cuda_launch::threads), cuda_launch::threads, 0, cuda_runtime::stream()>>>(
      x, n, y);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

template <class T>
void relu_backward_impl(const T* y, const T* dy, i64 n, T* dx) {
  if (n <= 0) return;
  relu_backward_kernel<<<cuda_launch::blocks_for(n, cuda_launch::threads), cuda_launch::threads, 0,
                         cuda_runtime::stream()>>>(y, dy, n, dx);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

template <class T>
void add_inplace_impl(T* a, const T* b, i64 n) {
  if (n <= 0) return;
  add_kernel<<<cuda_launch::blocks_for(n, cuda_launch::threads), cuda_launch::threads, 0, cuda_runtime::stream()>>>(
      a, b, n);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

template <class T>
void dropout_forward_impl(const T* x, i64 n, float p, Rng rng, T* y, T* mask) {
  if (n <= 0) return;
  const float scale = 1.0f / (1.0f - p);  // as the cpu computes it
  const i64 blocks = static_cast<i64>((rng.drawn() + static_cast<std::uint64_t>(n) - 1) / 4 - rng.drawn() / 4 + 1);
  dropout_kernel<<<cuda_launch::blocks_for(blocks, cuda_launch::threads), cuda_launch::threads, 0,
                   cuda_runtime::stream()>>>(x, n, p, scale, rng, y, mask);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

template <class T>
void multiply_impl(const T* a, const T* b, i64 n, T* out) {
  if (n <= 0) return;
  multiply_kernel<<<cuda_launch::blocks_for(n, cuda_launch::threads), cuda_launch::threads, 0,
                    cuda_runtime::stream()>>>(a, b, n, out);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

template <class T>
void fill_impl(T* p, i64 n, float value) {
  if (n <= 0) return;
  fill_kernel<<<cuda_launch::blocks_for(n, cuda_launch::threads), cuda_launch::threads, 0, cuda_runtime::stream()>>>(
      p, n, value);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void relu_forward(const float* x, i64 n, float* y) { relu_forward_impl(x, n, y); }
void relu_backward(const float* y, const float* dy, i64 n, float* dx) { relu_backward_impl(y, dy, n, dx); }
void dropout_forward(const float* x, i64 n, float p, Rng rng, float* y, float* mask) {
  dropout_forward_impl(x, n, p, rng, y, mask);
}
void add_inplace(float* a, const float* b, i64 n) { add_inplace_impl(a, b, n); }
void multiply(const float* a, const float* b, i64 n, float* out) { multiply_impl(a, b, n, out); }
void fill(float* p, i64 n, float value) { fill_impl(p, n, value); }

// NHWC [n, h, w, c] is n matrices [h*w, c]; NCHW is their transposes [c, h*w].
void nhwc_to_nchw(const float* x, i64 n, i64 h, i64 w, i64 c, float* y) { transpose(x, n, h * w, c, y); }
void nchw_to_nhwc(const float* x, i64 n, i64 h, i64 w, i64 c, float* y) { transpose(x, n, c, h * w, y); }

namespace mixed {

template <class A>
void relu_forward(const A* x, i64 n, A* y) {
  relu_forward_impl(x, n, y);
}
template <class A>
void relu_backward(const A* y, const A* dy, i64 n, A* dx) {
  relu_backward_impl(y, dy, n, dx);
}
template <class A>
void add_inplace(A* a, const A* b, i64 n) {
  add_inplace_impl(a, b, n);
}

template <class A>
void dropout_forward(const A* x, i64 n, float p, Rng rng, A* y, A* mask) {
  dropout_forward_impl(x, n, p, rng, y, mask);
}
template <class A>
void multiply(const A* a, const A* b, i64 n, A* out) {
  multiply_impl(a, b, n, out);
}
template <class A>
void fill(A* p, i64 n, float value) {
  fill_impl(p, n, value);
}
template <class A>
void nhwc_to_nchw(const A* x, i64 n, i64 h, i64 w, i64 c, A* y) {
  transpose(x, n, h * w, c, y);
}
template <class A>
void nchw_to_nhwc(const A* x, i64 n, i64 h, i64 w, i64 c, A* y) {
  transpose(x, n, c, h * w, y);
}

template void relu_forward(const half*, i64, half*);
template void relu_forward(const bfloat16*, i64, bfloat16*);
template void relu_backward(const half*, const half*, i64, half*);
template void relu_backward(const bfloat16*, const bfloat16*, i64, bfloat16*);
template void add_inplace(half*, const half*, i64);
template void add_inplace(bfloat16*, const bfloat16*, i64);
template void dropout_forward(const half*, i64, float, Rng, half*, half*);
template void dropout_forward(const bfloat16*, i64, float, Rng, bfloat16*, bfloat16*);
template void multiply(const half*, const half*, i64, half*);
template void multiply(const bfloat16*, const bfloat16*, i64, bfloat16*);
template void fill(half*, i64, float);
template void fill(bfloat16*, i64, float);
template void nhwc_to_nchw(const half*, i64, i64, i64, i64, half*);
template void nhwc_to_nchw(const bfloat16*, i64, i64, i64, i64, bfloat16*);
template void nchw_to_nhwc(const half*, i64, i64, i64, i64, half*);
template void nchw_to_nhwc(const bfloat16*, i64, i64, i64, i64, bfloat16*);

}  // namespace mixed

}  // namespace fastpp::cuda_kernels
