#pragma once
// A device whose optimizer table has multi-tensor steps (adam_step_many, sgd_step_many), as fastpp::cuda's
// has, running each tensor through the cpu's kernel: so the optimizers' batching (learner/optimizer.hpp:
// which parameters go together into one call) is tested on the cpu, where the arithmetic is the cpu's.
// It records each multi-tensor call's tensor count.
#include <cstdint>
#include <vector>

#include <fastpp/backend/cpu/layer_kernels.hpp>
#include <fastpp/backend/cpu/optim_kernels.hpp>
#include <fastpp/core/allocator.hpp>

namespace many_test {

struct batched {};

inline std::vector<std::int64_t>& many_calls() {
  static std::vector<std::int64_t> counts;
  return counts;
}

}  // namespace many_test

template <>
struct fastpp::device_traits<many_test::batched> {
  static constexpr bool is_device = true;
  static constexpr bool host_accessible = true;
  static constexpr std::string_view name = "batched";
};

template <>
struct fastpp::allocator<many_test::batched> {
  static void* allocate(std::size_t bytes) { return fastpp::allocator<fastpp::cpu>::allocate(bytes); }
  static void release(void* p) noexcept { fastpp::allocator<fastpp::cpu>::release(p); }
};

// Parameters fill their tensors through the layer table (nn/param.hpp): the one entry they need.
template <>
struct fastpp::backend::layer_kernels<many_test::batched> {
  static constexpr auto fill = layer_kernels<fastpp::cpu>::fill;
};

template <>
struct fastpp::backend::optim_kernels<many_test::batched> {
  using cpu_table = optim_kernels<fastpp::cpu>;
  struct adam_tensor {
    float* p;
    const float* g;
    float *grad_avg, *sqr_avg;
    std::int64_t n;
  };
  struct sgd_tensor {
    float* p;
    const float* g;
    float* grad_avg;
    std::int64_t n;
  };
  static void adam_step_many(const adam_tensor* t, std::int64_t count, double lr, double mom, double sqr_mom,
                             double eps, double wd, bool decouple_wd, double debias1, double debias2) {
    many_test::many_calls().push_back(count);
    for (std::int64_t i = 0; i < count; ++i)
      cpu_table::adam_step(t[i].p, t[i].g, t[i].grad_avg, t[i].sqr_avg, t[i].n, lr, mom, sqr_mom, eps, wd, decouple_wd,
                           debias1, debias2);
  }
  static void sgd_step_many(const sgd_tensor* t, std::int64_t count, double lr, double mom, double wd,
                            bool decouple_wd) {
    many_test::many_calls().push_back(count);
    for (std::int64_t i = 0; i < count; ++i)
      cpu_table::sgd_step(t[i].p, t[i].g, t[i].grad_avg, t[i].n, lr, mom, wd, decouple_wd);
  }
  static constexpr auto unscale_and_check_finite = cpu_table::unscale_and_check_finite;
  static constexpr auto zero = cpu_table::zero;
  static constexpr auto round_to_half = cpu_table::round_to_half;
};
