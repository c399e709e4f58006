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

// Multi-tensor steps: the per-tensor steps above over many parameters with the same hyperparameters (one
// parameter group) in few launches (each launch takes up to 36 tensors and 320 chunks of 65536 elements in
// its arguments), since a ResNet's ~160 parameters, most of them small, cost more in launches than in math.
// Each element gets the bits of the per-tensor step. `tensors` is a host array of `count` descriptors of
// device arrays; it may be freed when the call returns.
struct AdamTensor {
  float* p;
  const float* g;
  float *grad_avg, *sqr_avg;
  std::int64_t n;
};
void adam_step_many(const AdamTensor* tensors, std::int64_t count, double lr, double mom, double sqr_mom, double eps,
                    double wd, bool decouple_wd, double debias1, double debias2);
struct SgdTensor {
  float* p;
  const float* g;
  float* grad_avg;  // null: no momentum for this tensor
  std::int64_t n;
};
void sgd_step_many(const SgdTensor* tensors, std::int64_t count, double lr, double mom, double wd, bool decouple_wd);

}  // namespace fastpp::cuda_kernels
