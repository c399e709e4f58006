#pragma once
// fastpp::backend::optim_kernels<cuda>: the optimizer's arithmetic on the GPU (optim.hpp, fastpp::cuda).
#include "../../core/device.hpp"
#include "../tables.hpp"
#include "cast.hpp"
#include "optim.hpp"

namespace fastpp::backend {

template <>
struct optim_kernels<fastpp::cuda> {
  static constexpr auto adam_step = &cuda_kernels::adam_step;
  static constexpr auto sgd_step = &cuda_kernels::sgd_step;
  static constexpr auto unscale_and_check_finite = &cuda_kernels::unscale_and_check_finite;
  static constexpr auto zero = &cuda_kernels::zero;
  static constexpr auto round_to_half = &cuda_kernels::round_to_half;
  // multi-tensor steps: learner/optimizer.hpp gathers a step's parameters by hyperparameters into these
  using adam_tensor = cuda_kernels::AdamTensor;
  using sgd_tensor = cuda_kernels::SgdTensor;
  static constexpr auto adam_step_many = &cuda_kernels::adam_step_many;
  static constexpr auto sgd_step_many = &cuda_kernels::sgd_step_many;
};

}  // namespace fastpp::backend
