#pragma once
// A second device, written entirely here, to prove the device seam: a tag, its traits, its allocator
// and its kernel tables, with nothing changed in nn/ or loss/. Its memory is host memory from its own
// allocator (which counts blocks), and every kernel forwards to the cpu's after counting the call, so
// a test can check that a network built for it allocates and computes only through it.
#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include <fastpp/backend/cpu/layer_kernels.hpp>
#include <fastpp/backend/cpu/loss_kernels.hpp>
#include <fastpp/backend/cpu/optim_kernels.hpp>
#include <fastpp/core/allocator.hpp>

namespace seam {

struct counting {};

// Calls per kernel name; a mutex because kernels may be called from loader threads in other tests.
struct CallLog {
  std::mutex m;
  std::map<std::string, long> calls;
  void add(const char* name) {
    std::lock_guard<std::mutex> lock(m);
    ++calls[name];
  }
  long total() {
    std::lock_guard<std::mutex> lock(m);
    long n = 0;
    for (const auto& [k, v] : calls) n += v;
    return n;
  }
  long of(const std::string& name) {
    std::lock_guard<std::mutex> lock(m);
    auto it = calls.find(name);
    return it == calls.end() ? 0 : it->second;
  }
  void clear() {
    std::lock_guard<std::mutex> lock(m);
    calls.clear();
  }
};
inline CallLog& kernel_log() {
  static CallLog log;
  return log;
}
inline std::atomic<long>& blocks_allocated() {
  static std::atomic<long> n{0};
  return n;
}
inline std::atomic<long>& blocks_live() {
  static std::atomic<long> n{0};
  return n;
}

}  // namespace seam

template <>
struct fastpp::device_traits<seam::counting> {
  static constexpr bool is_device = true;
  static constexpr bool host_accessible = true;
  static constexpr std::string_view name = "counting";
};

template <>
struct fastpp::allocator<seam::counting> {
  static void* allocate(std::size_t bytes) {
    ++seam::blocks_allocated();
    ++seam::blocks_live();
    return fastpp::allocator<fastpp::cpu>::allocate(bytes);
  }
  static void release(void* p) noexcept {
    --seam::blocks_live();
    fastpp::allocator<fastpp::cpu>::release(p);
  }
};

// Each entry counts its call and runs the cpu's kernel.
#define SEAM_FORWARD(table, name)                          \
  template <class... A>                                    \
  static void name(A&&... a) {                             \
    seam::kernel_log().add(#name);                         \
    table<fastpp::cpu>::name(std::forward<A>(a)...);       \
  }

template <>
struct fastpp::backend::layer_kernels<seam::counting> {
  using workspace = layer_kernels<fastpp::cpu>::workspace;
  SEAM_FORWARD(layer_kernels, conv2d_forward)
  SEAM_FORWARD(layer_kernels, conv2d_backward)
  SEAM_FORWARD(layer_kernels, linear_forward)
  SEAM_FORWARD(layer_kernels, linear_backward)
  SEAM_FORWARD(layer_kernels, batchnorm_forward)
  SEAM_FORWARD(layer_kernels, batchnorm_backward)
  SEAM_FORWARD(layer_kernels, maxpool2d_forward)
  SEAM_FORWARD(layer_kernels, maxpool2d_backward)
  SEAM_FORWARD(layer_kernels, avgpool2d)
  SEAM_FORWARD(layer_kernels, adaptive_pool_forward)
  SEAM_FORWARD(layer_kernels, adaptive_pool_backward)
  SEAM_FORWARD(layer_kernels, relu_forward)
  SEAM_FORWARD(layer_kernels, relu_backward)
  SEAM_FORWARD(layer_kernels, dropout_forward)
  SEAM_FORWARD(layer_kernels, add_inplace)
  SEAM_FORWARD(layer_kernels, multiply)
  SEAM_FORWARD(layer_kernels, fill)
  SEAM_FORWARD(layer_kernels, nhwc_to_nchw)
  SEAM_FORWARD(layer_kernels, nchw_to_nhwc)
};

template <>
struct fastpp::backend::loss_kernels<seam::counting> {
  SEAM_FORWARD(loss_kernels, softmax)
  SEAM_FORWARD(loss_kernels, log_softmax)
  SEAM_FORWARD(loss_kernels, softmax_backward)
  SEAM_FORWARD(loss_kernels, log_softmax_backward)
  SEAM_FORWARD(loss_kernels, argmax)
  SEAM_FORWARD(loss_kernels, softmax_cross_entropy)
  SEAM_FORWARD(loss_kernels, nll_loss)
  SEAM_FORWARD(loss_kernels, nll_loss_backward)
  SEAM_FORWARD(loss_kernels, sigmoid)
  SEAM_FORWARD(loss_kernels, sigmoid_backward)
  SEAM_FORWARD(loss_kernels, bce_with_logits)
  SEAM_FORWARD(loss_kernels, bce_with_logits_backward)
  SEAM_FORWARD(loss_kernels, widen_targets)
  template <class... A>
  static double scan_targets(A&&... a) {
    seam::kernel_log().add("scan_targets");
    return loss_kernels<fastpp::cpu>::scan_targets(std::forward<A>(a)...);
  }
};

template <>
struct fastpp::backend::optim_kernels<seam::counting> {
  SEAM_FORWARD(optim_kernels, adam_step)
  SEAM_FORWARD(optim_kernels, sgd_step)
  SEAM_FORWARD(optim_kernels, zero)
  SEAM_FORWARD(optim_kernels, round_to_half)
  template <class... A>
  static bool unscale_and_check_finite(A&&... a) {
    seam::kernel_log().add("unscale_and_check_finite");
    return optim_kernels<fastpp::cpu>::unscale_and_check_finite(std::forward<A>(a)...);
  }
};

#undef SEAM_FORWARD
