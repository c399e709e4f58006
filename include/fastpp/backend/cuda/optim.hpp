#pragma once
// The optimizer kernels of fastpp::cuda (src/cuda/optim.cu): the contracts of the cpu's optim_kernels
// (backend/cpu/optim_kernels.hpp), every array in device memory, queued on the current stream.
// unscale_and_check_finite returns its answer to the host, so it waits for the stream.
#if !defined(FASTPP_WITH_CUDA)
#error "fastpp/backend/cuda/optim.hpp declares kernels of fastpp::cuda: configure with -DFASTPP_CUDA=ON, link fastpp::cuda"
#endif
#include <cstdint>

namespace fastpp::cuda_kernels {

void adam_step(float* p, const float* g, float* grad_avg, float* sqr_avg, std::int64_t n, double lr, double mom,
               double sqr_mom, double eps, double wd, bool decouple_wd, double debias1, double debias2);
void sgd_step(float* p, const float* g, float* grad_avg, std::int64_t n, double lr, double mom, double wd,
              bool decouple_wd);
bool unscale_and_check_finite(float* g, std::int64_t n, float inv_scale);
void zero(float* p, std::int64_t n);

}  // namespace fastpp::cuda_kernels
