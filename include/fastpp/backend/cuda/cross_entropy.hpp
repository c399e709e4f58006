#pragma once
// The fused softmax cross-entropy of fastpp::cuda (src/cuda/cross_entropy.cu), callable from plain C++:
// one read of the logits and one write of dx per row, float accumulation for float, half and bfloat16.
// The same contract as the cpu's LossKernels::softmax_cross_entropy (backend/cpu/loss_kernels.hpp; the
// formulas in backend/cross_entropy_row.hpp), with every pointer in device memory: x, dx [rows, n];
// target [rows] (checked beforehand: each in [0, n) or ignore_index); weight [n] or null; loss [rows]
// when per_row, else [1]; lse [rows]; grad [rows] when per_row, else [1]. loss, lse and dx may be null
// (dx null: no backward, grad unused). n >= 1. Runs on the default stream, asynchronously.
#if !defined(FASTPP_WITH_CUDA)
#error "fastpp/backend/cuda/cross_entropy.hpp declares kernels of fastpp::cuda: configure with -DFASTPP_CUDA=ON, link fastpp::cuda"
#endif
#include <cstdint>

#include "../../core/half.hpp"

namespace fastpp::cuda_kernels {

void softmax_cross_entropy(const float* x, std::int64_t rows, std::int64_t n, const std::int64_t* target,
                           std::int64_t ignore_index, const float* weight, double eps, double nll_divisor,
                           double smooth_divisor, bool per_row, float* loss, float* lse, const float* grad, float* dx);
void softmax_cross_entropy(const half* x, std::int64_t rows, std::int64_t n, const std::int64_t* target,
                           std::int64_t ignore_index, const float* weight, double eps, double nll_divisor,
                           double smooth_divisor, bool per_row, half* loss, half* lse, const half* grad, half* dx);
void softmax_cross_entropy(const bfloat16* x, std::int64_t rows, std::int64_t n, const std::int64_t* target,
                           std::int64_t ignore_index, const float* weight, double eps, double nll_divisor,
                           double smooth_divisor, bool per_row, bfloat16* loss, bfloat16* lse, const bfloat16* grad,
                           bfloat16* dx);

}  // namespace fastpp::cuda_kernels
