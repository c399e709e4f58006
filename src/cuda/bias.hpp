#pragma once
// Inside fastpp::cuda: a bias over the last axis of a row-major [rows, cols] array, for the linear layers
// (y[n, out]) and the NHWC convolutions (y[n * ho * wo, cout]): the forward's addition and the backward's
// column sums, with the cpu's semantics (backend/cpu/detail: y[r, c] += b[c]; db[c] += sum_r dy[r, c]).
// Queued on the current stream; rows or cols of 0 do nothing. The half and bfloat16 overloads (layers with
// those activations) add in float and round y once; their column sums are float, as the float kernel's.
#include <cstdint>
#include <fastpp/core/half.hpp>

namespace fastpp::cuda_kernels::bias {

void add_rows(float* y, const float* b, std::int64_t rows, std::int64_t cols);
// The sum of each column is added into db once, in an order fixed by the shape (the same bits on every run),
// up to 4096 rows; longer arrays are summed in chunks of at least 4096 rows whose sums are added with atomicAdd.
void add_column_sums(const float* dy, std::int64_t rows, std::int64_t cols, float* db);

void add_rows(half* y, const float* b, std::int64_t rows, std::int64_t cols);
void add_rows(bfloat16* y, const float* b, std::int64_t rows, std::int64_t cols);
void add_column_sums(const half* dy, std::int64_t rows, std::int64_t cols, float* db);
void add_column_sums(const bfloat16* dy, std::int64_t rows, std::int64_t cols, float* db);

}  // namespace fastpp::cuda_kernels::bias
