#pragma once
// Pooling over NHWC: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d and fastai's
// AdaptiveConcatPool2d ([max, avg] along channels).
#include <cstdint>
#include <string>
#include <vector>

#include "../backend/geometry.hpp"
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
backend::PoolGeom pool_geometry(const Shape& s) {
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

template <PoolOpts Opts = PoolOpts{}, class D = cpu, class T = float>
class MaxPool2d : public NoParams {
  static_assert(Opts.kernel > 0 && Opts.stride >= 0 && Opts.padding >= 0 && 2 * Opts.padding <= Opts.kernel,
                "MaxPool2d: kernel must be positive and padding at most half the kernel (as in PyTorch)");
  static_assert(layer_types_ok<D, T>::ok);

 public:
  using device_type = D;
  using value_type = T;
  template <class D2, class T2>
  using on = MaxPool2d<Opts, D2, T2>;
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;
  static constexpr Rank in_rank = Rank::map;
  static constexpr Rank out_rank = Rank::map;
  static constexpr text type_name() { return text("MaxPool2d<") + to_text(Opts.kernel) + text(">"); }

  Shape out_shape(const Shape& in) const { return detail::pool_out_shape<Opts>(in, "MaxPool2d"); }
  Tensor<T, D> forward(Ctx& ctx, const Tensor<T, D>& x) {
    auto y = Tensor<T, D>::empty(out_shape(x.shape()));
    auto argmax = Tensor<std::int32_t, D>::empty(y.shape());
    kernels::maxpool2d_forward(x.data(), detail::pool_geometry<Opts>(x.shape()), y.data(), argmax.data());
    in_shape_ = ctx.grad ? x.shape() : Shape{};
    argmax_ = ctx.grad ? argmax : Tensor<std::int32_t, D>{};
    return y;
  }
  Tensor<T, D> backward(Ctx&, const Tensor<T, D>& dy) {
    require_forward_ran(argmax_.defined(), type_name().view());
    require_grad_shape(dy.shape(), argmax_.shape(), type_name().view());
    auto dx = Tensor<T, D>::empty(in_shape_);
    kernels::maxpool2d_backward(dy.data(), argmax_.data(), detail::pool_geometry<Opts>(in_shape_), dx.data());
    argmax_ = {};
    return dx;
  }

 private:
  using kernels = backend::layer_kernels_for<D, T>;
  Tensor<std::int32_t, D> argmax_;
  Shape in_shape_;
};

template <PoolOpts Opts = PoolOpts{}, class D = cpu, class T = float>
class AvgPool2d : public NoParams {
  static_assert(Opts.kernel > 0 && Opts.stride >= 0 && Opts.padding >= 0 && 2 * Opts.padding <= Opts.kernel,
                "AvgPool2d: kernel must be positive and padding at most half the kernel (as in PyTorch)");
  static_assert(layer_types_ok<D, T>::ok);

 public:
  using device_type = D;
  using value_type = T;
  template <class D2, class T2>
  using on = AvgPool2d<Opts, D2, T2>;
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;
  static constexpr Rank in_rank = Rank::map;
  static constexpr Rank out_rank = Rank::map;
  static constexpr text type_name() { return text("AvgPool2d<") + to_text(Opts.kernel) + text(">"); }

  Shape out_shape(const Shape& in) const { return detail::pool_out_shape<Opts>(in, "AvgPool2d"); }
  Tensor<T, D> forward(Ctx&, const Tensor<T, D>& x) {
    auto y = Tensor<T, D>::empty(out_shape(x.shape()));
    kernels::avgpool2d(x.data(), detail::pool_geometry<Opts>(x.shape()), false, y.data());
    in_shape_ = x.shape();
    out_shape_ = y.shape();
    return y;
  }
  Tensor<T, D> backward(Ctx&, const Tensor<T, D>& dy) {
    require_forward_ran(in_shape_.rank() == 4, type_name().view());
    require_grad_shape(dy.shape(), out_shape_, type_name().view());
    auto dx = Tensor<T, D>::empty(in_shape_);
    kernels::avgpool2d(dy.data(), detail::pool_geometry<Opts>(in_shape_), true, dx.data());
    return dx;
  }

 private:
  using kernels = backend::layer_kernels_for<D, T>;
  Shape in_shape_, out_shape_;
};

// Adaptive pooling to an Out x Out grid: average, max, or fastai's AdaptiveConcatPool2d ([max, avg]
// along channels, so C channels become 2C).
enum class AdaptiveKind { avg, max, concat };

template <AdaptiveKind Kind, std::int64_t Out, class D, class T>
class AdaptivePool : public NoParams {
  static_assert(Out > 0, "adaptive pooling: the output size must be positive");
  static_assert(layer_types_ok<D, T>::ok);
  static constexpr std::int64_t parts = Kind == AdaptiveKind::concat ? 2 : 1;

 public:
  using device_type = D;
  using value_type = T;
  template <class D2, class T2>
  using on = AdaptivePool<Kind, Out, D2, T2>;
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;  // refined by flow() for concat: twice the input
  static constexpr Rank in_rank = Rank::map;
  static constexpr Rank out_rank = Rank::map;  // [N, Out, Out, C]: a Flatten makes it [N, features]
  static constexpr text type_name() {
    const text kind = Kind == AdaptiveKind::avg ? text("AdaptiveAvgPool2d<")
                      : Kind == AdaptiveKind::max ? text("AdaptiveMaxPool2d<")
                                                  : text("AdaptiveConcatPool2d<");
    return kind + to_text(Out) + text(">");
  }
  static constexpr Flow flow(Flow in) {
    return {parts == 2 && in.channels > 0 ? 2 * in.channels : in.channels, Out == 1, Rank::map};
  }

  AdaptivePool() = default;
  explicit AdaptivePool(Build&) {}

  Shape out_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4 && in[1] > 0 && in[2] > 0, type_name().view(),
                        " expects NHWC input [N, H, W, C], got ", in);
    return Shape{in[0], Out, Out, in[3] * parts};
  }
  Tensor<T, D> forward(Ctx&, const Tensor<T, D>& x) {
    auto y = Tensor<T, D>::empty(out_shape(x.shape()));
    const auto& s = x.shape();
    argmax_ = Tensor<std::int32_t, D>::empty({s[0] * Out * Out * s[3]});
    for (std::int64_t k = 0; k < parts; ++k)
      kernels::adaptive_pool_forward(x.data(), s[0], s[1], s[2], s[3], Out, Out, is_max(k), y.data(), parts * s[3],
                                     k * s[3], argmax_.data());
    in_shape_ = s;
    out_shape_ = y.shape();
    return y;
  }
  Tensor<T, D> backward(Ctx&, const Tensor<T, D>& dy) {
    require_forward_ran(in_shape_.rank() == 4, type_name().view());
    require_grad_shape(dy.shape(), out_shape_, type_name().view());
    const auto& s = in_shape_;
    auto dx = Tensor<T, D>::empty(s);
    kernels::fill(dx.data(), dx.numel(), 0.0f);
    for (std::int64_t k = 0; k < parts; ++k)
      kernels::adaptive_pool_backward(dy.data(), s[0], s[1], s[2], s[3], Out, Out, is_max(k), parts * s[3], k * s[3],
                                      argmax_.data(), dx.data());
    return dx;
  }

 private:
  using kernels = backend::layer_kernels_for<D, T>;
  static constexpr bool is_max(std::int64_t part) { return Kind == AdaptiveKind::max || (Kind == AdaptiveKind::concat && part == 0); }
  Tensor<std::int32_t, D> argmax_;
  Shape in_shape_, out_shape_;
};

template <std::int64_t Out = 1, class D = cpu, class T = float>
using AdaptiveAvgPool2d = AdaptivePool<AdaptiveKind::avg, Out, D, T>;
template <std::int64_t Out = 1, class D = cpu, class T = float>
using AdaptiveMaxPool2d = AdaptivePool<AdaptiveKind::max, Out, D, T>;
template <std::int64_t Out = 1, class D = cpu, class T = float>
using AdaptiveConcatPool2d = AdaptivePool<AdaptiveKind::concat, Out, D, T>;

}  // namespace fastpp::nn
