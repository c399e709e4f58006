#pragma once
// Linear<In, Out, Bias>: y = x W^T + b, W stored [Out, In] as in PyTorch. Out may be dyn: the width comes
// from Build::out_features at construction (the number of classes) and is checked then.
#include <cmath>
#include <cstdint>
#include <string>

#include <vector>

#include "layer.hpp"

namespace fastpp::nn {

template <std::int64_t In, std::int64_t Out, bool Bias = true, class D = cpu, class T = float>
class Linear {
  static_assert(layer_types_ok<D, T>::ok);
  static_assert(In > 0, "Linear<In, Out>: In must be a positive feature count (the flattened width before it)");
  static_assert(Out > 0 || Out == dyn, "Linear<In, Out>: Out must be a positive count, or dyn to take it from the data");

 public:
  using device_type = D;
  using value_type = T;
  template <class D2, class T2>
  using on = Linear<In, Out, Bias, D2, T2>;
  static constexpr std::int64_t in_channels = In;
  static constexpr std::int64_t out_channels = Out;
  static constexpr bool has_bias = Bias;
  static constexpr Rank in_rank = Rank::flat;
  static constexpr Rank out_rank = Rank::flat;
  static constexpr Flow flow(Flow) { return {Out, false, Rank::flat}; }
  static constexpr text type_name() {
    return text("Linear<") + to_text(In) + text(", ") + channels_text(Out) + text(">");
  }

  ParamOn<D> weight, bias;

  Linear() requires(Out != dyn) : Linear(fresh_build()) {}
  explicit Linear(std::int64_t out_features) : Linear(build_with(out_features)) {}
  // PyTorch's default init: kaiming_uniform_(a = sqrt(5)) on the weight, i.e. U(-1/sqrt(In), 1/sqrt(In)),
  // and the bias from the same bound.
  explicit Linear(Build&& b) : Linear(b) {}
  explicit Linear(Build& b) : out_(Out == dyn ? b.out_features : Out) {
    if constexpr (Out == dyn) {
      require<ValueError>(out_ > 0, type_name().view(),
                        " takes its output width from the data: construct it with the number of classes "
                        "(Build{.out_features = n}), got ", out_);
    }
    weight = ParamOn<D>(Shape{out_, In});
    bias = ParamOn<D>(Shape{Bias ? out_ : 1}, false, true);
    const auto bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(In)));
    std::vector<float> w(static_cast<std::size_t>(weight.value.numel()));
    for (auto& v : w) v = b.rng.uniform(-bound, bound);
    weight.assign(w);
    if constexpr (Bias) {
      std::vector<float> bv(static_cast<std::size_t>(out_));
      for (auto& v : bv) v = b.rng.uniform(-bound, bound);
      bias.assign(bv);
    }
  }

  std::int64_t out_features() const noexcept { return out_; }

  Shape out_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 2 && in[1] == In, type_name().view(), " expects input [N, ", In, "], got ", in,
                      in.rank() == 2 ? ": the width before it (a Flatten of a feature map whose size depends on the "
                                       "image size) disagrees"
                                     : ": put a Flatten before it");
    return Shape{in[0], out_};
  }
  Tensor<T, D> forward(Ctx& ctx, const Tensor<T, D>& x) {
    auto y = Tensor<T, D>::empty(out_shape(x.shape()));
    kernels::linear_forward(x.data(), weight.value.data(), Bias ? bias.value.data() : nullptr, x.shape()[0], In,
                            out_, y.data());
    input_ = ctx.grad ? x : Tensor<T, D>{};
    return y;
  }
  // Without ctx.input_grad, only the weights' gradients: dx is an undefined tensor.
  Tensor<T, D> backward(Ctx& ctx, const Tensor<T, D>& dy) {
    require_forward_ran(input_.defined(), type_name().view());
    require_grad_shape(dy.shape(), Shape{input_.shape()[0], out_}, type_name().view());
    auto dx = ctx.input_grad ? Tensor<T, D>::empty(input_.shape()) : Tensor<T, D>{};
    kernels::linear_backward(input_.data(), weight.value.data(), dy.data(), input_.shape()[0], In, out_,
                             weight.requires_grad() ? weight.grad.data() : nullptr,
                             Bias && bias.requires_grad() ? bias.grad.data() : nullptr,
                             ctx.input_grad ? dx.data() : nullptr);
    input_ = {};
    return dx;
  }

  template <class F>
  void for_each_param(F&& f, const std::string& prefix = {}) {
    f(prefix + "weight", weight);
    if constexpr (Bias) f(prefix + "bias", bias);
  }

 private:
  static Build fresh_build() { return Build{}; }
  static Build build_with(std::int64_t n) {
    Build b;
    b.out_features = n;
    return b;
  }
  using kernels = backend::layer_kernels_for<D, T>;
  std::int64_t out_;
  Tensor<T, D> input_;
};

}  // namespace fastpp::nn
