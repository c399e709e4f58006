// The bias kernels of bias.hpp.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "bias.hpp"
#include "check.hpp"
#include "stream.hpp"

namespace fastpp::cuda_kernels::bias {

namespace {

using i64 = std::int64_t;

// y[r, c] += b[c], grid-stride over rows x cols; T float, half or bfloat16 (added in float, rounded once).
template <class T>
__global__ void add_rows_kernel(T* y, const float* b, i64 rows, i64 cols) {
  const i64 total = rows * cols;
  for (i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<i64>(gridDim.x) * blockDim.x) {
    if constexpr (std::is_same_v<T, float>) {
      y[i] += b[i % cols];  // the float kernel as it was (the same PTX)
    } else {
      y[i] = T(static_cast<float>(y[i]) + b[i % cols]);
    }
  }
}

// db[c] += sum over rows of dy[r, c]. A block covers 32 columns (threadIdx.x: a warp reads 32 neighbours, one
// transaction) and a chunk of rows, its 8 rows of threads (threadIdx.y) each summing every 8th row of the
// chunk; the 8 partial sums are added in shared memory in a fixed order. With one chunk each column gets one
// addition into db; with several, each chunk's sum is added with atomicAdd.
constexpr int kColumns = 32, kRowThreads = 8;
constexpr i64 kChunk = 4096;
template <class T>
__global__ void add_column_sums_kernel(const T* dy, i64 rows, i64 cols, i64 chunk, float* db) {
  __shared__ float partial[kRowThreads][kColumns];
  const i64 c = static_cast<i64>(blockIdx.x) * kColumns + threadIdx.x;
  const i64 begin = static_cast<i64>(blockIdx.y) * chunk;
  const i64 end = begin + chunk < rows ? begin + chunk : rows;
  float sum = 0.0f;
  if (c < cols)
    for (i64 r = begin + threadIdx.y; r < end; r += kRowThreads) sum += static_cast<float>(dy[r * cols + c]);
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    float total = 0.0f;
    for (int k = 0; k < kRowThreads; ++k) total += partial[k][threadIdx.x];
    if (gridDim.y == 1) {
      db[c] += total;
    } else {
      atomicAdd(db + c, total);
    }
  }
}

template <class T>
void add_rows_impl(T* y, const float* b, i64 rows, i64 cols) {
  if (rows <= 0 || cols <= 0) return;
  constexpr int threads = 256;
  // a grid-stride loop: at most 65535 * 8 blocks (a few times what any GPU holds at once), each thread loops
  const i64 blocks = std::min<i64>((rows * cols + threads - 1) / threads, i64{65535} * 8);
  add_rows_kernel<<<static_cast<unsigned>(blocks), threads, 0, cuda_runtime::stream()>>>(y, b, rows, cols);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

template <class T>
void add_column_sums_impl(const T* dy, i64 rows, i64 cols, float* db) {
  if (rows <= 0 || cols <= 0) return;
  const i64 chunk = std::max<i64>(kChunk, (rows + 65534) / 65535);  // gridDim.y stays within 65535
  const dim3 grid(static_cast<unsigned>((cols + kColumns - 1) / kColumns),
                  static_cast<unsigned>((rows + chunk - 1) / chunk));
  add_column_sums_kernel<<<grid, dim3(kColumns, kRowThreads), 0, cuda_runtime::stream()>>>(dy, rows, cols, chunk,
                                                                                            db);
  FASTPP_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void add_rows(float* y, const float* b, i64 rows, i64 cols) { add_rows_impl(y, b, rows, cols); }
void add_rows(half* y, const float* b, i64 rows, i64 cols) { add_rows_impl(y, b, rows, cols); }
void add_rows(bfloat16* y, const float* b, i64 rows, i64 cols) { add_rows_impl(y, b, rows, cols); }
void add_column_sums(const float* dy, i64 rows, i64 cols, float* db) { add_column_sums_impl(dy, rows, cols, db); }
void add_column_sums(const half* dy, i64 rows, i64 cols, float* db) { add_column_sums_impl(dy, rows, cols, db); }
void add_column_sums(const bfloat16* dy, i64 rows, i64 cols, float* db) { add_column_sums_impl(dy, rows, cols, db); }

}  // namespace fastpp::cuda_kernels::bias
