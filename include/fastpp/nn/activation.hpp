#pragma once
// Layers without parameters that keep the shape: ReLU, Identity, Dropout; and Flatten.
// ReLU, Identity and Flatten are the cpu/float instances of ReLUOn, IdentityOn and FlattenOn; a network
// built for another device with on_device_t gets the matching instance.
#include <concepts>
#include <cstdint>
#include <string>

#include "layer.hpp"

namespace fastpp::nn {

// max(x, 0). Works in place when it is handed the only handle to its input (a fresh intermediate inside a
// Sequential): then no other layer can see the overwrite, so no copy is needed.
template <class D = cpu, class T = float>
class ReLUOn : public NoParams {
  static_assert(layer_types_ok<D, T>::ok);

 public:
  using device_type = D;
  using value_type = T;
  template <class D2, class T2>
  using on = ReLUOn<D2, T2>;
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;
  static constexpr Rank in_rank = Rank::any;  // a map or a flat tensor, given back as it came
  static constexpr Rank out_rank = Rank::same_as_input;
  static constexpr bool keeps_spatial = true;
  static constexpr text type_name() { return text("ReLU"); }

  Shape out_shape(const Shape& in) const { return in; }
  Tensor<T, D> forward(Ctx& ctx, const Tensor<T, D>& x) {
    auto y = Tensor<T, D>::empty(x.shape());
    kernels::relu_forward(x.data(), x.numel(), y.data());
    output_ = ctx.grad ? y : Tensor<T, D>{};
    return y;
  }
  Tensor<T, D> forward(Ctx& ctx, Tensor<T, D>&& x) {
    if (x.use_count() != 1) return forward(ctx, static_cast<const Tensor<T, D>&>(x));
    kernels::relu_forward(x.data(), x.numel(), x.data());
    output_ = ctx.grad ? x : Tensor<T, D>{};
    return std::move(x);
  }
  Tensor<T, D> backward(Ctx&, const Tensor<T, D>& dy) {
    require_forward_ran(output_.defined(), "ReLU");
    require_grad_shape(dy.shape(), output_.shape(), "ReLU");
    auto dx = Tensor<T, D>::empty(dy.shape());
    kernels::relu_backward(output_.data(), dy.data(), dy.numel(), dx.data());
    output_ = {};
    return dx;
  }
  // A gradient nobody else holds is masked where it lies (one pass over memory fewer, no new block).
  Tensor<T, D> backward(Ctx& ctx, Tensor<T, D>&& dy) {
    if (dy.use_count() != 1) return backward(ctx, static_cast<const Tensor<T, D>&>(dy));
    require_forward_ran(output_.defined(), "ReLU");
    require_grad_shape(dy.shape(), output_.shape(), "ReLU");
    kernels::relu_backward(output_.data(), dy.data(), dy.numel(), dy.data());
    output_ = {};
    return std::move(dy);
  }

 private:
  using kernels = backend::layer_kernels_for<D, T>;
  Tensor<T, D> output_;
};
using ReLU = ReLUOn<>;

template <class D = cpu, class T = float>
class IdentityOn : public NoParams {
  static_assert(layer_types_ok<D, T>::ok);

 public:
  using device_type = D;
  using value_type = T;
  template <class D2, class T2>
  using on = IdentityOn<D2, T2>;
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;
  static constexpr Rank in_rank = Rank::any;  // a map or a flat tensor, given back as it came
  static constexpr Rank out_rank = Rank::same_as_input;
  static constexpr bool keeps_spatial = true;
  static constexpr text type_name() { return text("Identity"); }
  Shape out_shape(const Shape& in) const { return in; }
  Tensor<T, D> forward(Ctx&, const Tensor<T, D>& x) {
    output_shape_ = x.shape();
    return x;
  }
  Tensor<T, D> backward(Ctx&, const Tensor<T, D>& dy) {
    require_forward_ran(output_shape_.rank() > 0, "Identity");
    require_grad_shape(dy.shape(), output_shape_, "Identity");
    return dy;
  }

 private:
  Shape output_shape_;
};
using Identity = IdentityOn<>;

template <class L>
inline constexpr bool is_identity_v = std::is_same_v<L, IdentityOn<typename L::device_type, typename L::value_type>>;

// Dropout's template argument: a whole percentage, Dropout<50> for PyTorch's nn.Dropout(0.5) (clang 14
// takes no floating-point template arguments). A fraction such as Dropout<0.5> converts too, only so
// that Dropout can refuse it with a sentence instead of "conversion from double to int".
struct DropPercent {
  std::int64_t value = 0;
  bool fraction = false;  // written as a floating-point number

  template <std::integral I>
  constexpr DropPercent(I percent) : value(static_cast<std::int64_t>(percent)) {}  // NOLINT: Dropout<50>
  template <std::floating_point F>
  constexpr DropPercent(F) : fraction(true) {}  // NOLINT: refused by Dropout's static_assert
};

// Zeroes each element with probability Percent/100 in training and scales the rest by 1/(1-p); the
// identity in eval. Masks come from ctx.fork(), so a run is reproducible from ctx's seed.
template <DropPercent Percent, class D = cpu, class T = float>
class Dropout : public NoParams {
  static_assert(!Percent.fraction,
                "Dropout<Percent>: the drop probability is a whole percentage: write Dropout<50> for PyTorch's "
                "nn.Dropout(0.5), Dropout<25> for nn.Dropout(0.25)");
  static_assert(Percent.fraction || (Percent.value >= 0 && Percent.value < 100),
                "Dropout<Percent>: the drop probability is a percentage in [0, 100)");
  static_assert(layer_types_ok<D, T>::ok);

 public:
  using device_type = D;
  using value_type = T;
  template <class D2, class T2>
  using on = Dropout<Percent, D2, T2>;
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;
  static constexpr Rank in_rank = Rank::any;  // a map or a flat tensor, given back as it came
  static constexpr Rank out_rank = Rank::same_as_input;
  static constexpr bool keeps_spatial = true;
  static constexpr std::int64_t percent = Percent.value;
  static constexpr float p = static_cast<float>(percent) / 100.0f;
  static constexpr text type_name() { return text("Dropout<") + to_text(percent) + text(">"); }

  Shape out_shape(const Shape& in) const { return in; }
  Tensor<T, D> forward(Ctx& ctx, const Tensor<T, D>& x) {
    output_shape_ = x.shape();
    ran_ = true;
    if (!ctx.training || percent == 0) {
      mask_ = {};
      return x;
    }
    auto y = Tensor<T, D>::empty(x.shape());
    auto mask = Tensor<T, D>::empty(x.shape());
    kernels::dropout_forward(x.data(), x.numel(), p, ctx.fork(), y.data(), mask.data());
    mask_ = ctx.grad ? mask : Tensor<T, D>{};
    return y;
  }
  Tensor<T, D> backward(Ctx&, const Tensor<T, D>& dy) {
    require_forward_ran(ran_, type_name().view());
    require_grad_shape(dy.shape(), output_shape_, type_name().view());
    ran_ = false;  // one backward per forward: a second would skip the mask it released
    if (!mask_.defined()) return dy;  // eval mode, or p = 0: the identity
    auto dx = Tensor<T, D>::empty(dy.shape());
    kernels::multiply(dy.data(), mask_.data(), dy.numel(), dx.data());
    mask_ = {};
    return dx;
  }

 private:
  using kernels = backend::layer_kernels_for<D, T>;
  Tensor<T, D> mask_;
  Shape output_shape_;
  bool ran_ = false;
};

template <DropPercent Percent, class D, class T>
inline constexpr bool refused_its_arguments<Dropout<Percent, D, T>> = Percent.fraction;

// [N, H, W, C] -> [N, C*H*W] in PyTorch's order (channel outermost), so a Linear after it takes the same
// weights as in PyTorch; after a global pooling (H = W = 1) it is a free reshape. Rank-2 input passes.
template <class D = cpu, class T = float>
class FlattenOn : public NoParams {
  static_assert(layer_types_ok<D, T>::ok);

 public:
  using device_type = D;
  using value_type = T;
  template <class D2, class T2>
  using on = FlattenOn<D2, T2>;
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;
  static constexpr Rank in_rank = Rank::any;  // a rank-2 input passes through
  static constexpr Rank out_rank = Rank::flat;
  static constexpr text type_name() { return text("Flatten"); }
  // After a global pooling the feature count is the channel count; otherwise it depends on the image size.
  static constexpr Flow flow(Flow in) {
    Flow out = in;
    if (!in.global && in.rank != Rank::flat) out.channels = dyn;
    out.rank = Rank::flat;
    return out;
  }

  Shape out_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 2 || in.rank() == 4, "Flatten expects [N, H, W, C] or [N, F], got ", in);
    return in.rank() == 2 ? in : Shape{in[0], in.numel() / std::max<std::int64_t>(in[0], 1)};
  }
  Tensor<T, D> forward(Ctx&, const Tensor<T, D>& x) {
    const Shape out = out_shape(x.shape());
    in_shape_ = x.shape();
    out_shape_ = out;
    if (is_free(in_shape_)) return x.reshape(out);
    auto y = Tensor<T, D>::empty(out);
    kernels::nhwc_to_nchw(x.data(), x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3], y.data());
    return y;
  }
  Tensor<T, D> backward(Ctx&, const Tensor<T, D>& dy) {
    require_forward_ran(in_shape_.rank() > 0, "Flatten");
    require_grad_shape(dy.shape(), out_shape_, "Flatten");
    if (is_free(in_shape_)) return dy.reshape(in_shape_);
    auto dx = Tensor<T, D>::empty(in_shape_);
    kernels::nchw_to_nhwc(dy.data(), in_shape_[0], in_shape_[1], in_shape_[2], in_shape_[3], dx.data());
    return dx;
  }

 private:
  using kernels = backend::layer_kernels_for<D, T>;
  static bool is_free(const Shape& in) { return in.rank() == 2 || (in[1] == 1 && in[2] == 1); }
  Shape in_shape_, out_shape_;
};
using Flatten = FlattenOn<>;

}  // namespace fastpp::nn
