#pragma once
// The loss kernels of fastpp::cuda (src/cuda/loss.cu), callable from plain C++: the contracts of the
// cpu's LossKernels (backend/cpu/loss_kernels.hpp) for float, every array in device memory except the
// host pointers named below. Queued on the current stream (backend/cuda/stream.hpp); the calls that
// return a value to the host (scan_targets) wait for it.
#if !defined(FASTPP_WITH_CUDA)
#error "fastpp/backend/cuda/losses.hpp declares kernels of fastpp::cuda: configure with -DFASTPP_CUDA=ON, link fastpp::cuda"
#endif
#include <cstdint>

namespace fastpp::cuda_kernels {

void softmax(const float* x, std::int64_t rows, std::int64_t n, float* y);
void log_softmax(const float* x, std::int64_t rows, std::int64_t n, float* y);
void softmax_backward(const float* y, const float* dy, std::int64_t rows, std::int64_t n, float* dx);
void log_softmax_backward(const float* y, const float* dy, std::int64_t rows, std::int64_t n, float* dx);
void argmax(const float* x, std::int64_t rows, std::int64_t n, std::int64_t* out);

// bad_row and bad_value are host pointers; the sum is returned to the host (the call waits).
double scan_targets(const std::int64_t* t, std::int64_t rows, std::int64_t classes, std::int64_t ignore_index,
                    const float* weight, std::int64_t* bad_row, std::int64_t* bad_value);
void widen_targets(const std::int32_t* in, std::int64_t count, std::int64_t* out);
void widen_targets(const std::uint8_t* in, std::int64_t count, std::int64_t* out);

void nll_loss(const float* logp, std::int64_t rows, std::int64_t n, const std::int64_t* t, std::int64_t ignore_index,
              const float* weight, double divisor, bool per_row, float* loss);
void nll_loss_backward(std::int64_t rows, std::int64_t n, const std::int64_t* t, std::int64_t ignore_index,
                       const float* weight, double divisor, bool per_row, const float* grad, float* dx);
void sigmoid(const float* x, std::int64_t count, float* y);
void sigmoid_backward(const float* y, const float* dy, std::int64_t count, float* dx);
void bce_with_logits(const float* x, const float* y, std::int64_t count, std::int64_t n, const float* weight,
                     const float* pos_weight, double divisor, bool per_element, float* loss);
void bce_with_logits_backward(const float* x, const float* y, std::int64_t count, std::int64_t n, const float* weight,
                              const float* pos_weight, double divisor, bool per_element, const float* grad, float* dx);

}  // namespace fastpp::cuda_kernels
