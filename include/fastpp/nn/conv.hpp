#pragma once
// Conv2d over NHWC activations on any device: the kernels come from backend::layer_kernels<D> (on the
// cpu: im2col + one GEMM per chunk of images). The weight is stored OHWI [Cout, kh, kw, Cin/groups];
// the state dict converts to and from PyTorch's OIHW.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../backend/geometry.hpp"
#include "layer.hpp"

namespace fastpp::nn {

// Convolution options, spelled with their type in a template argument:
// Conv2d<3, 64, ConvOpts{.kernel = 7, .stride = 2, .padding = 3, .bias = false}>.
struct ConvOpts {
  int kernel = 3;
  int stride = 1;
  int padding = 0;
  int dilation = 1;
  int groups = 1;
  bool bias = true;  // PyTorch's default; torchvision's ResNets use bias = false
};

template <std::int64_t Cin, std::int64_t Cout, ConvOpts Opts = ConvOpts{}, class D = cpu, class T = float>
class Conv2d {
  static_assert(layer_types_ok<D, T>::ok);
  static_assert(Cin > 0 && Cout > 0, "Conv2d<Cin, Cout>: both channel counts must be positive numbers");
  static_assert(Opts.kernel > 0 && Opts.stride > 0 && Opts.dilation > 0 && Opts.padding >= 0,
                "Conv2d: kernel, stride and dilation must be positive and padding non-negative");
  static_assert(Opts.groups > 0 && Cin % Opts.groups == 0 && Cout % Opts.groups == 0,
                "Conv2d: groups must divide both Cin and Cout");

 public:
  using device_type = D;
  using value_type = T;
  template <class D2, class T2>
  using on = Conv2d<Cin, Cout, Opts, D2, T2>;
  static constexpr std::int64_t in_channels = Cin;
  static constexpr std::int64_t out_channels = Cout;
  static constexpr ConvOpts opts = Opts;
  static constexpr Rank in_rank = Rank::map;
  static constexpr Rank out_rank = Rank::map;
  static constexpr text type_name() {
    return text("Conv2d<") + to_text(Cin) + text(", ") + to_text(Cout) + text(">");
  }

  ParamOn<D> weight{Shape{Cout, Opts.kernel, Opts.kernel, Cin / Opts.groups}};
  ParamOn<D> bias{Shape{Opts.bias ? Cout : 1}, false, true};

  Conv2d() {
    Build b;
    init(b);
  }
  explicit Conv2d(Build& b) { init(b); }

  // torchvision's init: kaiming_normal_(mode="fan_out", nonlinearity="relu"); a bias, if any, as PyTorch
  // does by default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  void init(Build& b) {
    weight.layout = ParamLayout::conv_ohwi;
    const double fan_out = static_cast<double>(Cout) * Opts.kernel * Opts.kernel;
    const auto stddev = static_cast<float>(std::sqrt(2.0 / fan_out));
    std::vector<float> w(static_cast<std::size_t>(weight.value.numel()));
    for (auto& v : w) v = b.rng.normal() * stddev;
    weight.assign(w);
    if constexpr (Opts.bias) {
      const auto bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(Cin / Opts.groups) * Opts.kernel * Opts.kernel));
      std::vector<float> bv(static_cast<std::size_t>(Cout));
      for (auto& v : bv) v = b.rng.uniform(-bound, bound);
      bias.assign(bv);
    }
  }

  backend::ConvGeom geometry(const Shape& s) const {
    return {s[0], s[1], s[2], Cin, Cout, Opts.kernel, Opts.kernel, Opts.stride, Opts.padding, Opts.dilation,
            Opts.groups};
  }
  Shape out_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4 && in[3] == Cin, type_name().view(), " expects NHWC input [N, H, W, ", Cin,
                      "], got ", in);
    const auto g = geometry(in);
    require<ShapeError>(g.ho() > 0 && g.wo() > 0, type_name().view(), ": input ", in,
                      " is smaller than the kernel (", Opts.kernel, "x", Opts.kernel, ", dilation ", Opts.dilation,
                      ", padding ", Opts.padding, ")");
    return Shape{in[0], g.ho(), g.wo(), Cout};
  }

  Tensor<T, D> forward(Ctx& ctx, const Tensor<T, D>& x) {
    auto y = Tensor<T, D>::empty(out_shape(x.shape()));
    kernels::conv2d_forward(x.data(), weight.value.data(), Opts.bias ? bias.value.data() : nullptr,
                            geometry(x.shape()), y.data(), ws_);
    input_ = ctx.grad ? x : Tensor<T, D>{};
    output_shape_ = y.shape();
    return y;
  }
  // Without ctx.input_grad, only the weights' gradients: dx is an undefined tensor.
  Tensor<T, D> backward(Ctx& ctx, const Tensor<T, D>& dy) {
    require_forward_ran(input_.defined(), type_name().view());
    require_grad_shape(dy.shape(), output_shape_, type_name().view());
    auto dx = ctx.input_grad ? Tensor<T, D>::empty(input_.shape()) : Tensor<T, D>{};
    kernels::conv2d_backward(input_.data(), weight.value.data(), dy.data(), geometry(input_.shape()),
                             weight.requires_grad() ? weight.grad.data() : nullptr,
                             Opts.bias && bias.requires_grad() ? bias.grad.data() : nullptr,
                             ctx.input_grad ? dx.data() : nullptr, ws_);
    input_ = {};
    return dx;
  }

  template <class F>
  void for_each_param(F&& f, const std::string& prefix = {}) {
    f(prefix + "weight", weight);
    if constexpr (Opts.bias) f(prefix + "bias", bias);
  }

 private:
  using kernels = backend::layer_kernels_for<D, T>;
  Tensor<T, D> input_;
  Shape output_shape_;
  typename kernels::workspace ws_;
};

}  // namespace fastpp::nn
