#pragma once
// BatchNorm2d (NHWC: statistics per channel over the N*H*W rows) and BatchNorm1d ([N, C]), with
// PyTorch's semantics: biased variance to normalise, unbiased variance in the running estimate,
// running = (1 - momentum) * running + momentum * batch, eval mode normalises with the running stats.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels.hpp"
#include "layer.hpp"

namespace fastpp::nn {

// The channel-count-free part, instantiated once for every BatchNorm<C>.
class BatchNormCore {
 public:
  Param weight, bias;
  Tensor<float> running_mean, running_var;
  std::int64_t num_batches_tracked = 0;
  float momentum = 0.1f;
  float eps = 1e-5f;

  explicit BatchNormCore(std::int64_t c)
      : weight(Shape{c}, true), bias(Shape{c}, true, true), running_mean(Tensor<float>::zeros({c})),
        running_var(Tensor<float>::full({c}, 1.0f)) {
    std::fill(weight.value.begin(), weight.value.end(), 1.0f);
  }

  // x seen as [rows, C].
  Tensor<float> forward_rows(Ctx& ctx, const Tensor<float>& x, std::int64_t rows, const std::string& name) {
    const std::int64_t c = weight.value.numel();
    auto y = Tensor<float>::empty(x.shape());
    invstd_.resize(static_cast<std::size_t>(c));
    std::vector<float> mean(static_cast<std::size_t>(c));
    if (ctx.training) {
      require<ShapeError>(rows > 1, name, ": training needs more than one value per channel, got input ", x.shape());
      kernels::channel_mean_var(x.data(), rows, c, mean_, var_);
      const double unbias = static_cast<double>(rows) / static_cast<double>(rows - 1);
      for (std::int64_t j = 0; j < c; ++j) {
        const auto u = static_cast<std::size_t>(j);
        mean[u] = static_cast<float>(mean_[u]);
        invstd_[u] = static_cast<float>(1.0 / std::sqrt(var_[u] + eps));
        running_mean.data()[j] = static_cast<float>((1.0 - momentum) * running_mean.data()[j] + momentum * mean_[u]);
        running_var.data()[j] =
            static_cast<float>((1.0 - momentum) * running_var.data()[j] + momentum * var_[u] * unbias);
      }
      ++num_batches_tracked;
    } else {
      for (std::int64_t j = 0; j < c; ++j) {
        const auto u = static_cast<std::size_t>(j);
        mean[u] = running_mean.data()[j];
        invstd_[u] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(running_var.data()[j]) + eps));
      }
    }
    xhat_ = ctx.grad ? Tensor<float>::empty(x.shape()) : Tensor<float>{};
    kernels::channel_affine(x.data(), rows, c, mean.data(), invstd_.data(), weight.value.data(), bias.value.data(),
                            y.data(), ctx.grad ? xhat_.data() : nullptr);
    batch_stats_ = ctx.training;
    return y;
  }
  Tensor<float> backward_rows(const Tensor<float>& dy, const std::string& name) {
    require<ValueError>(xhat_.defined(), name, ": backward without a forward that kept its input "
                      "(run forward with ctx.grad = true)");
    require<ShapeError>(dy.shape() == xhat_.shape(), name, ": gradient of shape ", dy.shape(),
                      " does not match the forward output ", xhat_.shape());
    const std::int64_t c = weight.value.numel();
    auto dx = Tensor<float>::empty(dy.shape());
    kernels::batchnorm_backward(xhat_.data(), dy.data(), dy.numel() / c, c, weight.value.data(), invstd_.data(),
                                !batch_stats_, weight.requires_grad() ? weight.grad.data() : nullptr,
                                bias.requires_grad() ? bias.grad.data() : nullptr, dx.data());
    xhat_ = {};
    return dx;
  }

  template <class F>
  void for_each_param(F&& f, const std::string& prefix = {}) {
    f(prefix + "weight", weight);
    f(prefix + "bias", bias);
  }
  template <class F>
  void for_each_buffer(F&& f, const std::string& prefix = {}) {
    f(prefix + "running_mean", BufferRef{&running_mean, nullptr});
    f(prefix + "running_var", BufferRef{&running_var, nullptr});
    f(prefix + "num_batches_tracked", BufferRef{nullptr, &num_batches_tracked});
  }

 private:
  Tensor<float> xhat_;
  std::vector<float> invstd_;
  std::vector<double> mean_, var_;
  bool batch_stats_ = true;
};

template <std::int64_t C>
class BatchNorm2d : public BatchNormCore {
  static_assert(C > 0, "BatchNorm2d<C>: C must be a positive channel count");

 public:
  static constexpr std::int64_t in_channels = C;
  static constexpr std::int64_t out_channels = C;
  static constexpr bool keeps_spatial = true;
  static constexpr text type_name() { return text("BatchNorm2d<") + to_text(C) + text(">"); }

  BatchNorm2d() : BatchNormCore(C) {}
  explicit BatchNorm2d(Build&) : BatchNormCore(C) {}

  Shape out_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4 && in[3] == C, type_name().view(), " expects NHWC input [N, H, W, ", C,
                      "], got ", in);
    return in;
  }
  Tensor<float> forward(Ctx& ctx, const Tensor<float>& x) {
    out_shape(x.shape());
    return forward_rows(ctx, x, x.numel() / C, type_name().str());
  }
  Tensor<float> backward(Ctx&, const Tensor<float>& dy) { return backward_rows(dy, type_name().str()); }
};

template <std::int64_t C>
class BatchNorm1d : public BatchNormCore {
  static_assert(C > 0, "BatchNorm1d<C>: C must be a positive feature count");

 public:
  static constexpr std::int64_t in_channels = C;
  static constexpr std::int64_t out_channels = C;
  static constexpr bool keeps_spatial = true;
  static constexpr text type_name() { return text("BatchNorm1d<") + to_text(C) + text(">"); }

  BatchNorm1d() : BatchNormCore(C) {}
  explicit BatchNorm1d(Build&) : BatchNormCore(C) {}

  Shape out_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 2 && in[1] == C, type_name().view(), " expects input [N, ", C, "], got ", in);
    return in;
  }
  Tensor<float> forward(Ctx& ctx, const Tensor<float>& x) {
    out_shape(x.shape());
    return forward_rows(ctx, x, x.shape()[0], type_name().str());
  }
  Tensor<float> backward(Ctx&, const Tensor<float>& dy) { return backward_rows(dy, type_name().str()); }
};

}  // namespace fastpp::nn
