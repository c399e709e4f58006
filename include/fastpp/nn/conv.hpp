#pragma once
// Conv2d over NHWC activations: im2col + one GEMM per chunk of images (kernels.hpp). The weight is
// stored OHWI [Cout, kh, kw, Cin/groups]; the state dict converts to and from PyTorch's OIHW.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels.hpp"
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

template <std::int64_t Cin, std::int64_t Cout, ConvOpts Opts = ConvOpts{}>
class Conv2d {
  static_assert(Cin > 0 && Cout > 0, "Conv2d<Cin, Cout>: both channel counts must be positive numbers");
  static_assert(Opts.kernel > 0 && Opts.stride > 0 && Opts.dilation > 0 && Opts.padding >= 0,
                "Conv2d: kernel, stride and dilation must be positive and padding non-negative");
  static_assert(Opts.groups > 0 && Cin % Opts.groups == 0 && Cout % Opts.groups == 0,
                "Conv2d: groups must divide both Cin and Cout");

 public:
  static constexpr std::int64_t in_channels = Cin;
  static constexpr std::int64_t out_channels = Cout;
  static constexpr ConvOpts opts = Opts;
  static constexpr text type_name() {
    return text("Conv2d<") + to_text(Cin) + text(", ") + to_text(Cout) + text(">");
  }

  Param weight{Shape{Cout, Opts.kernel, Opts.kernel, Cin / Opts.groups}};
  Param bias{Shape{Opts.bias ? Cout : 1}, false, true};

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
    for (auto& v : weight.value) v = b.rng.normal() * stddev;
    if constexpr (Opts.bias) {
      const auto bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(Cin / Opts.groups) * Opts.kernel * Opts.kernel));
      for (auto& v : bias.value) v = b.rng.uniform(-bound, bound);
    }
  }

  kernels::ConvGeom geometry(const Shape& s) const {
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

  Tensor<float> forward(Ctx& ctx, const Tensor<float>& x) {
    auto y = Tensor<float>::empty(out_shape(x.shape()));
    kernels::conv2d_forward(x.data(), weight.value.data(), Opts.bias ? bias.value.data() : nullptr,
                            geometry(x.shape()), y.data(), col_);
    input_ = ctx.grad ? x : Tensor<float>{};
    return y;
  }
  Tensor<float> backward(Ctx&, const Tensor<float>& dy) {
    require<ValueError>(input_.defined(), type_name().view(), ": backward without a forward that kept its input "
                      "(run forward with ctx.grad = true)");
    auto dx = Tensor<float>::empty(input_.shape());
    kernels::conv2d_backward(input_.data(), weight.value.data(), dy.data(), geometry(input_.shape()),
                             weight.requires_grad() ? weight.grad.data() : nullptr,
                             Opts.bias && bias.requires_grad() ? bias.grad.data() : nullptr, dx.data(), col_, dcol_);
    input_ = {};
    return dx;
  }

  template <class F>
  void for_each_param(F&& f, const std::string& prefix = {}) {
    f(prefix + "weight", weight);
    if constexpr (Opts.bias) f(prefix + "bias", bias);
  }

 private:
  Tensor<float> input_;
  std::vector<float> col_, dcol_;
};

}  // namespace fastpp::nn
