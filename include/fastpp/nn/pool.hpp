#pragma once
// Pooling over NHWC: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d and fastai's
// AdaptiveConcatPool2d ([max, avg] along channels).
#include <cstdint>
#include <string>
#include <vector>

#include "kernels.hpp"
#include "layer.hpp"

namespace fastpp::nn {

// Pooling window options: MaxPool2d<PoolOpts{.kernel = 3, .stride = 2, .padding = 1}>. A stride of 0
// means "the kernel size", PyTorch's default.
struct PoolOpts {
  int kernel = 2;
  int stride = 0;
  int padding = 0;
};

namespace detail {
template <PoolOpts O>
kernels::PoolGeom pool_geometry(const Shape& s) {
  return {s[0], s[1], s[2], s[3], O.kernel, O.kernel, O.stride == 0 ? O.kernel : O.stride, O.padding};
}
template <PoolOpts O>
Shape pool_out_shape(const Shape& in, std::string_view name) {
  require<ShapeError>(in.rank() == 4, name, " expects NHWC input [N, H, W, C], got ", in);
  const auto g = pool_geometry<O>(in);
  require<ShapeError>(g.ho() > 0 && g.wo() > 0, name, ": input ", in, " is smaller than the window");
  return Shape{in[0], g.ho(), g.wo(), in[3]};
}
}  // namespace detail

template <PoolOpts Opts = PoolOpts{}>
class MaxPool2d : public NoParams {
  static_assert(Opts.kernel > 0 && Opts.stride >= 0 && Opts.padding >= 0 && 2 * Opts.padding <= Opts.kernel,
                "MaxPool2d: kernel must be positive and padding at most half the kernel (as in PyTorch)");

 public:
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;
  static constexpr text type_name() { return text("MaxPool2d<") + to_text(Opts.kernel) + text(">"); }

  Shape out_shape(const Shape& in) const { return detail::pool_out_shape<Opts>(in, "MaxPool2d"); }
  Tensor<float> forward(Ctx& ctx, const Tensor<float>& x) {
    auto y = Tensor<float>::empty(out_shape(x.shape()));
    argmax_.resize(static_cast<std::size_t>(y.numel()));
    kernels::maxpool2d_forward(x.data(), detail::pool_geometry<Opts>(x.shape()), y.data(), argmax_.data());
    in_shape_ = ctx.grad ? x.shape() : Shape{};
    return y;
  }
  Tensor<float> backward(Ctx&, const Tensor<float>& dy) {
    require<ValueError>(in_shape_.rank() == 4, "MaxPool2d: backward needs a forward with ctx.grad = true");
    auto dx = Tensor<float>::empty(in_shape_);
    kernels::maxpool2d_backward(dy.data(), argmax_.data(), detail::pool_geometry<Opts>(in_shape_), dx.data());
    return dx;
  }

 private:
  std::vector<std::int32_t> argmax_;
  Shape in_shape_;
};

template <PoolOpts Opts = PoolOpts{}>
class AvgPool2d : public NoParams {
  static_assert(Opts.kernel > 0 && Opts.stride >= 0 && Opts.padding >= 0 && 2 * Opts.padding <= Opts.kernel,
                "AvgPool2d: kernel must be positive and padding at most half the kernel (as in PyTorch)");

 public:
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;
  static constexpr text type_name() { return text("AvgPool2d<") + to_text(Opts.kernel) + text(">"); }

  Shape out_shape(const Shape& in) const { return detail::pool_out_shape<Opts>(in, "AvgPool2d"); }
  Tensor<float> forward(Ctx&, const Tensor<float>& x) {
    auto y = Tensor<float>::empty(out_shape(x.shape()));
    kernels::avgpool2d(x.data(), detail::pool_geometry<Opts>(x.shape()), false, y.data());
    in_shape_ = x.shape();
    return y;
  }
  Tensor<float> backward(Ctx&, const Tensor<float>& dy) {
    auto dx = Tensor<float>::empty(in_shape_);
    kernels::avgpool2d(dy.data(), detail::pool_geometry<Opts>(in_shape_), true, dx.data());
    return dx;
  }

 private:
  Shape in_shape_;
};

// The channel-count-free part of the adaptive pools: `kinds` lists the pools whose results are
// concatenated along channels (AdaptiveConcatPool2d: max then avg).
class AdaptivePoolCore : public NoParams {
 public:
  AdaptivePoolCore(std::int64_t out, std::vector<bool> is_max) : out_(out), is_max_(std::move(is_max)) {}

  Shape out_shape(const Shape& in, std::string_view name) const {
    require<ShapeError>(in.rank() == 4 && in[1] > 0 && in[2] > 0, name, " expects NHWC input [N, H, W, C], got ", in);
    return Shape{in[0], out_, out_, in[3] * static_cast<std::int64_t>(is_max_.size())};
  }
  Tensor<float> forward(const Tensor<float>& x, std::string_view name) {
    auto y = Tensor<float>::empty(out_shape(x.shape(), name));
    const auto& s = x.shape();
    argmax_.resize(static_cast<std::size_t>(s[0] * out_ * out_ * s[3]));
    const auto parts = static_cast<std::int64_t>(is_max_.size());
    for (std::int64_t k = 0; k < parts; ++k)
      kernels::adaptive_pool_forward(x.data(), s[0], s[1], s[2], s[3], out_, out_, is_max_[static_cast<std::size_t>(k)],
                                     y.data(), parts * s[3], k * s[3], argmax_.data());
    in_shape_ = s;
    return y;
  }
  Tensor<float> backward(const Tensor<float>& dy) {
    const auto& s = in_shape_;
    auto dx = Tensor<float>::zeros(s);
    const auto parts = static_cast<std::int64_t>(is_max_.size());
    for (std::int64_t k = 0; k < parts; ++k)
      kernels::adaptive_pool_backward(dy.data(), s[0], s[1], s[2], s[3], out_, out_, is_max_[static_cast<std::size_t>(k)],
                                      parts * s[3], k * s[3], argmax_.data(), dx.data());
    return dx;
  }

 private:
  std::int64_t out_;
  std::vector<bool> is_max_;
  std::vector<std::int32_t> argmax_;
  Shape in_shape_;
};

template <std::int64_t Out = 1>
class AdaptiveAvgPool2d : public AdaptivePoolCore {
  static_assert(Out > 0, "AdaptiveAvgPool2d<Out>: the output size must be positive");

 public:
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;
  static constexpr text type_name() { return text("AdaptiveAvgPool2d<") + to_text(Out) + text(">"); }
  static constexpr Flow flow(Flow in) { return {in.channels, Out == 1, false}; }
  AdaptiveAvgPool2d() : AdaptivePoolCore(Out, {false}) {}
  Shape out_shape(const Shape& in) const { return AdaptivePoolCore::out_shape(in, "AdaptiveAvgPool2d"); }
  Tensor<float> forward(Ctx&, const Tensor<float>& x) { return AdaptivePoolCore::forward(x, "AdaptiveAvgPool2d"); }
  Tensor<float> backward(Ctx&, const Tensor<float>& dy) { return AdaptivePoolCore::backward(dy); }
};

template <std::int64_t Out = 1>
class AdaptiveMaxPool2d : public AdaptivePoolCore {
  static_assert(Out > 0, "AdaptiveMaxPool2d<Out>: the output size must be positive");

 public:
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;
  static constexpr text type_name() { return text("AdaptiveMaxPool2d<") + to_text(Out) + text(">"); }
  static constexpr Flow flow(Flow in) { return {in.channels, Out == 1, false}; }
  AdaptiveMaxPool2d() : AdaptivePoolCore(Out, {true}) {}
  Shape out_shape(const Shape& in) const { return AdaptivePoolCore::out_shape(in, "AdaptiveMaxPool2d"); }
  Tensor<float> forward(Ctx&, const Tensor<float>& x) { return AdaptivePoolCore::forward(x, "AdaptiveMaxPool2d"); }
  Tensor<float> backward(Ctx&, const Tensor<float>& dy) { return AdaptivePoolCore::backward(dy); }
};

// fastai's AdaptiveConcatPool2d: [adaptive max, adaptive avg] along channels, so C channels become 2C.
template <std::int64_t Out = 1>
class AdaptiveConcatPool2d : public AdaptivePoolCore {
  static_assert(Out > 0, "AdaptiveConcatPool2d<Out>: the output size must be positive");

 public:
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;  // refined by flow(): twice the input
  static constexpr text type_name() { return text("AdaptiveConcatPool2d<") + to_text(Out) + text(">"); }
  static constexpr Flow flow(Flow in) { return {in.channels > 0 ? 2 * in.channels : in.channels, Out == 1, false}; }
  AdaptiveConcatPool2d() : AdaptivePoolCore(Out, {true, false}) {}
  Shape out_shape(const Shape& in) const { return AdaptivePoolCore::out_shape(in, "AdaptiveConcatPool2d"); }
  Tensor<float> forward(Ctx&, const Tensor<float>& x) { return AdaptivePoolCore::forward(x, "AdaptiveConcatPool2d"); }
  Tensor<float> backward(Ctx&, const Tensor<float>& dy) { return AdaptivePoolCore::backward(dy); }
};

}  // namespace fastpp::nn
