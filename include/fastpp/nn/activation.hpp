#pragma once
// Layers without parameters that keep the shape: ReLU, Identity, Dropout; and Flatten.
#include <cstdint>
#include <string>

#include "kernels.hpp"
#include "layer.hpp"

namespace fastpp::nn {

// max(x, 0). Works in place when it is handed the only handle to its input (a fresh intermediate inside a
// Sequential): then no other layer can see the overwrite, so no copy is needed.
class ReLU : public NoParams {
 public:
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;
  static constexpr bool keeps_spatial = true;
  static constexpr text type_name() { return text("ReLU"); }

  Shape out_shape(const Shape& in) const { return in; }
  Tensor<float> forward(Ctx& ctx, const Tensor<float>& x) {
    auto y = Tensor<float>::empty(x.shape());
    apply(x.data(), y.data(), x.numel());
    output_ = ctx.grad ? y : Tensor<float>{};
    return y;
  }
  Tensor<float> forward(Ctx& ctx, Tensor<float>&& x) {
    if (x.use_count() != 1) return forward(ctx, static_cast<const Tensor<float>&>(x));
    apply(x.data(), x.data(), x.numel());
    output_ = ctx.grad ? x : Tensor<float>{};
    return std::move(x);
  }
  Tensor<float> backward(Ctx&, const Tensor<float>& dy) {
    require<ValueError>(output_.defined() && output_.shape() == dy.shape(),
                      "ReLU: backward needs a forward with ctx.grad = true and a gradient of the output's shape");
    auto dx = Tensor<float>::empty(dy.shape());
    const float* y = output_.data();
    const float* g = dy.data();
    float* d = dx.data();
    parallel_for(0, dy.numel(), 1 << 15, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) d[i] = y[i] > 0.0f ? g[i] : 0.0f;
    });
    output_ = {};
    return dx;
  }

 private:
  static void apply(const float* x, float* y, std::int64_t n) {
    parallel_for(0, n, 1 << 15, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    });
  }
  Tensor<float> output_;
};

class Identity : public NoParams {
 public:
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;
  static constexpr bool keeps_spatial = true;
  static constexpr text type_name() { return text("Identity"); }
  Shape out_shape(const Shape& in) const { return in; }
  Tensor<float> forward(Ctx&, const Tensor<float>& x) { return x; }
  Tensor<float> backward(Ctx&, const Tensor<float>& dy) { return dy; }
};

// Zeroes each element with probability Percent/100 in training and scales the rest by 1/(1-p); the
// identity in eval. Masks come from ctx.fork(), so a run is reproducible from ctx's seed.
// (The probability is a percentage because clang 14 takes no floating-point template arguments.)
template <int Percent>
class Dropout : public NoParams {
  static_assert(Percent >= 0 && Percent < 100, "Dropout<Percent>: the drop probability is a percentage in [0, 100)");

 public:
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;
  static constexpr bool keeps_spatial = true;
  static constexpr float p = static_cast<float>(Percent) / 100.0f;
  static constexpr text type_name() { return text("Dropout<") + to_text(Percent) + text(">"); }

  Shape out_shape(const Shape& in) const { return in; }
  Tensor<float> forward(Ctx& ctx, const Tensor<float>& x) {
    if (!ctx.training || Percent == 0) {
      mask_ = {};
      return x;
    }
    Rng rng = ctx.fork();
    auto y = Tensor<float>::empty(x.shape());
    auto mask = Tensor<float>::empty(x.shape());
    const float scale = 1.0f / (1.0f - p);
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      mask.data()[i] = rng.uniform() < p ? 0.0f : scale;
      y.data()[i] = x.data()[i] * mask.data()[i];
    }
    mask_ = ctx.grad ? mask : Tensor<float>{};
    return y;
  }
  Tensor<float> backward(Ctx&, const Tensor<float>& dy) {
    if (!mask_.defined()) return dy;  // eval mode, or p = 0: the identity
    require<ShapeError>(mask_.shape() == dy.shape(), type_name().view(), ": gradient ", dy.shape(),
                      " does not match the forward output ", mask_.shape());
    auto dx = Tensor<float>::empty(dy.shape());
    for (std::int64_t i = 0; i < dy.numel(); ++i) dx.data()[i] = dy.data()[i] * mask_.data()[i];
    mask_ = {};
    return dx;
  }

 private:
  Tensor<float> mask_;
};

// [N, H, W, C] -> [N, C*H*W] in PyTorch's order (channel outermost), so a Linear after it takes the same
// weights as in PyTorch; after a global pooling (H = W = 1) it is a free reshape. Rank-2 input passes.
class Flatten : public NoParams {
 public:
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;
  static constexpr text type_name() { return text("Flatten"); }
  // After a global pooling the feature count is the channel count; otherwise it depends on the image size.
  static constexpr Flow flow(Flow in) {
    Flow out = in;
    if (!in.global && !in.flat) out.channels = dyn;
    out.flat = true;
    return out;
  }

  Shape out_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 2 || in.rank() == 4, "Flatten expects [N, H, W, C] or [N, F], got ", in);
    return in.rank() == 2 ? in : Shape{in[0], in.numel() / std::max<std::int64_t>(in[0], 1)};
  }
  Tensor<float> forward(Ctx&, const Tensor<float>& x) {
    const Shape out = out_shape(x.shape());
    in_shape_ = x.shape();
    if (x.rank() == 2 || (x.shape()[1] == 1 && x.shape()[2] == 1)) return x.reshape(out);
    auto y = Tensor<float>::empty(out);
    kernels::nhwc_to_nchw(x.data(), x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3], y.data());
    return y;
  }
  Tensor<float> backward(Ctx&, const Tensor<float>& dy) {
    if (in_shape_.rank() == 2 || (in_shape_[1] == 1 && in_shape_[2] == 1)) return dy.reshape(in_shape_);
    auto dx = Tensor<float>::empty(in_shape_);
    kernels::nchw_to_nhwc(dy.data(), in_shape_[0], in_shape_[1], in_shape_[2], in_shape_[3], dx.data());
    return dx;
  }

 private:
  Shape in_shape_;
};

}  // namespace fastpp::nn
