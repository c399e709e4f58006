#pragma once
// Parameters and buffers of a layer on a device, and the whole-model helpers over them: zero_grad,
// count_params, parameter groups and fastai's freeze_to / freeze / unfreeze.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "../backend/kernels.hpp"
#include "../core/tensor.hpp"

namespace fastpp::nn {

// How a parameter's value is laid out, so the state dict can convert to PyTorch's layout.
enum class ParamLayout { plain, conv_ohwi };

// A learnable tensor and its gradient on device D, with the bookkeeping fastai's optimizer needs.
// Parameters are float whatever the activations' dtype (the master weights of mixed precision).
template <class D>
struct ParamOn {
  Tensor<float, D> value;
  Tensor<float, D> grad;     // same shape; backward adds to it, zero_grad() clears it
  int group = 0;             // parameter group (fastai's layer groups: discriminative lr, freezing)
  bool frozen = false;       // set by freeze_to(): no gradient is computed ...
  bool is_norm = false;      // ... except for normalisation layers' params (fastai's train_bn)
  bool train_bn = true;
  bool is_bias = false;      // biases and norm params get no weight decay in fastai (wd_bn_bias=False)
  ParamLayout layout = ParamLayout::plain;

  explicit ParamOn(const Shape& shape = Shape{1}, bool norm = false, bool bias = false)
      : value(Tensor<float, D>::empty(shape)), grad(Tensor<float, D>::empty(shape)), is_norm(norm), is_bias(bias) {
    fill(value, 0.0f);
    zero_grad();
  }
  bool requires_grad() const noexcept { return !frozen || (is_norm && train_bn); }
  void zero_grad() { fill(grad, 0.0f); }

  // Sets the value from host numbers in row-major order (the initialisers draw on the host).
  void assign(const std::vector<float>& host) {
    require_size(host.size());
    copy_bytes<D, cpu>(value.data(), host.data(), value.nbytes());
  }
  // The value as host numbers (for initialisers that rescale, and for state dicts).
  std::vector<float> to_host() const {
    std::vector<float> v(static_cast<std::size_t>(value.numel()));
    copy_bytes<cpu, D>(v.data(), value.data(), value.nbytes());
    return v;
  }

  static void fill(Tensor<float, D>& t, float v) { backend::layer_kernels<D>::fill(t.data(), t.numel(), v); }

 private:
  void require_size(std::size_t n) const {
    check<ShapeError>(static_cast<std::int64_t>(n) == value.numel(), "Param::assign: ", n,
                      " values for a parameter of shape ", value.shape());
  }
};
using Param = ParamOn<cpu>;

// The state that is not learnt but saved (BatchNorm's running statistics and batch counter).
template <class D>
struct BufferRefOn {
  Tensor<float, D>* f32 = nullptr;
  std::int64_t* count = nullptr;  // num_batches_tracked: saved as an int64 scalar, as PyTorch does
};
using BufferRef = BufferRefOn<cpu>;

// ---- whole-model helpers ------------------------------------------------------------------------

template <class M>
void zero_grad(M& model) {
  model.for_each_param([](const std::string&, auto& p) { p.zero_grad(); });
}
template <class M>
std::int64_t count_params(M& model) {
  std::int64_t n = 0;
  model.for_each_param([&](const std::string&, auto& p) { n += p.value.numel(); });
  return n;
}
// Number of parameter groups (1 + the largest group index).
template <class M>
int count_groups(M& model) {
  int n = 0;
  model.for_each_param([&](const std::string&, auto& p) { n = std::max(n, p.group + 1); });
  return n;
}
// fastai's freeze_to(n): groups before n are frozen (their norm parameters keep training when train_bn),
// groups from n on train. freeze_to(0) unfreezes everything; freeze_to(-1) freezes all but the last.
template <class M>
void freeze_to(M& model, int n, bool train_bn = true) {
  const int groups = count_groups(model);
  if (n < 0) n += groups;
  model.for_each_param([&](const std::string&, auto& p) {
    p.frozen = p.group < n;
    p.train_bn = train_bn;
  });
}
template <class M>
void freeze(M& model) { freeze_to(model, -1); }
template <class M>
void unfreeze(M& model) { freeze_to(model, 0); }

}  // namespace fastpp::nn
