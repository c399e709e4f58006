#pragma once
// BatchNorm2d (NHWC: statistics per channel over the N*H*W rows) and BatchNorm1d ([N, C]), with
// PyTorch's semantics: biased variance to normalise, unbiased variance in the running estimate,
// running = (1 - momentum) * running + momentum * batch, eval mode normalises with the running stats.
#include <cstdint>
#include <string>
#include <vector>

#include "layer.hpp"

namespace fastpp::nn {

// The channel-count-free part, instantiated once per device and dtype for every BatchNorm<C>.
template <class D, class T>
class BatchNormCore {
 public:
  ParamOn<D> weight, bias;
  Tensor<float, D> running_mean, running_var;
  std::int64_t num_batches_tracked = 0;
  float momentum = 0.1f;
  float eps = 1e-5f;

  explicit BatchNormCore(std::int64_t c)
      : weight(Shape{c}, true), bias(Shape{c}, true, true), running_mean(Tensor<float, D>::empty({c})),
        running_var(Tensor<float, D>::empty({c})), invstd_(Tensor<float, D>::empty({c})) {
    ParamOn<D>::fill(weight.value, 1.0f);
    ParamOn<D>::fill(running_mean, 0.0f);
    ParamOn<D>::fill(running_var, 1.0f);
  }

  // x seen as [rows, C]. In training with ctx.parallel.sync_batchnorm (a data-parallel run that asked for
  // SyncBatchNorm), the statistics are those of every process's rows together: the per-channel sums of x
  // and x^2 and the row count are summed over the processes (one sum of 2C+1 doubles), as PyTorch's
  // SyncBatchNorm does, and the running estimates move toward the global statistics.
  Tensor<T, D> forward_rows(Ctx& ctx, const Tensor<T, D>& x, std::int64_t rows, std::string_view name) {
    const std::int64_t c = weight.value.numel();
    ProcessSum* const sync = ctx.training ? ctx.parallel.sync_batchnorm : nullptr;
    if (ctx.training && !sync)
      require<ShapeError>(rows > 1, name, ": training needs more than one value per channel, got input ", x.shape());
    auto y = Tensor<T, D>::empty(x.shape());
    xhat_ = ctx.grad ? Tensor<T, D>::empty(x.shape()) : Tensor<T, D>{};
    if (sync) {
      forward_synced(*sync, x, rows, y, name);
    } else {
      kernels::batchnorm_forward(x.data(), rows, c, ctx.training, momentum, eps, weight.value.data(),
                                 bias.value.data(), running_mean.data(), running_var.data(), y.data(),
                                 ctx.grad ? xhat_.data() : nullptr, invstd_.data());
    }
    if (ctx.training) ++num_batches_tracked;
    batch_stats_ = ctx.training;
    synced_ = sync != nullptr;
    return y;
  }
  // dx is written over dy where nobody else holds it (the kernel reads each element before writing it).
  // After a synchronised forward, the per-channel sums of dy and dy*xhat are summed over the processes
  // for dx (dgamma and dbeta stay this process's: the gradient all-reduce averages them).
  Tensor<T, D> backward_rows(Ctx& ctx, Tensor<T, D> dy, std::string_view name) {
    require_forward_ran(xhat_.defined(), name);
    require_grad_shape(dy.shape(), xhat_.shape(), name);
    const std::int64_t c = weight.value.numel();
    auto dx = dy.use_count() == 1 ? dy : Tensor<T, D>::empty(dy.shape());
    float* const dgamma = weight.requires_grad() ? weight.grad.data() : nullptr;
    float* const dbeta = bias.requires_grad() ? bias.grad.data() : nullptr;
    if (synced_) {
      require<ValueError>(ctx.parallel.sync_batchnorm != nullptr, name,
                          ": the forward synchronised the statistics over processes but the backward's Ctx has no "
                          "parallel.sync_batchnorm to sum their gradients");
      backward_synced(*ctx.parallel.sync_batchnorm, dy, dx, dgamma, dbeta);
    } else {
      kernels::batchnorm_backward(xhat_.data(), dy.data(), dy.numel() / c, c, weight.value.data(), invstd_.data(),
                                  !batch_stats_, dgamma, dbeta, dx.data());
    }
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
    f(prefix + "running_mean", BufferRefOn<D>{&running_mean, nullptr});
    f(prefix + "running_var", BufferRefOn<D>{&running_var, nullptr});
    f(prefix + "num_batches_tracked", BufferRefOn<D>{nullptr, &num_batches_tracked});
  }

 private:
  using kernels = backend::layer_kernels_for<D, T>;
  static constexpr bool has_sync_kernels = requires {
    kernels::batchnorm_sync_sums;
    kernels::batchnorm_sync_forward;
    kernels::batchnorm_sync_grad_sums;
    kernels::batchnorm_sync_backward_dx;
  };
  [[noreturn]] static void no_sync_kernels(std::string_view name) {
    detail::raise<Error>(name, ": synchronised BatchNorm (sync_batchnorm) is not available on the ", device_name<D>,
                         " device: its layer kernel table has no batchnorm_sync_* kernels (the cpu's has them); "
                         "train without sync_batchnorm there");
  }

  // The synchronised statistics' sums (n doubles) where D's kernels read them: host memory where the host
  // can read D's (the cpu: summed by ProcessSum::sum), else D's memory, summed there by
  // ProcessSum::sum_device (NCCL) or, where the process group cannot, through a host copy.
  class SyncSums {
   public:
    explicit SyncSums(std::int64_t n) : n_(n) {
      if constexpr (HostDevice<D>) host_.resize(static_cast<std::size_t>(n));
      else device_ = Tensor<double, D>::empty({n});
    }
    double* data() {
      if constexpr (HostDevice<D>) return host_.data();
      else return device_.data();
    }
    void sum_processes(ProcessSum& sync) {
      if constexpr (HostDevice<D>) {
        sync.sum(host_.data(), n_);
      } else if (!sync.sum_device(device_.data(), n_)) {
        host_.resize(static_cast<std::size_t>(n_));
        copy_bytes<cpu, D>(host_.data(), device_.data(), sizeof(double) * host_.size());
        sync.sum(host_.data(), n_);
        copy_bytes<D, cpu>(device_.data(), host_.data(), sizeof(double) * host_.size());
      }
    }
    // The rows summed over the processes (the last of the forward's sums) on the host. In D's memory they
    // are not read back: a host sum of this process's rows gives them (waited for as the process group
    // waits: NCCL's polls for errors and its timeout, where a copy would wait on a hung collective forever).
    double rows_total(ProcessSum& sync, std::int64_t rows) {
      if constexpr (HostDevice<D>) {
        (void)sync, (void)rows;
        return host_[static_cast<std::size_t>(n_ - 1)];
      } else {
        double total = static_cast<double>(rows);
        sync.sum(&total, 1);
        return total;
      }
    }

   private:
    std::int64_t n_;
    std::vector<double> host_;
    Tensor<double, D> device_;
  };

  void forward_synced(ProcessSum& sync, const Tensor<T, D>& x, std::int64_t rows, Tensor<T, D>& y,
                      std::string_view name) {
    if constexpr (has_sync_kernels) {
      const std::int64_t c = weight.value.numel();
      SyncSums sums(2 * c + 1);
      kernels::batchnorm_sync_sums(x.data(), rows, c, sums.data());
      sums.sum_processes(sync);
      const double total = sums.rows_total(sync, rows);
      require<ShapeError>(total > 1.0, name,
                          ": training needs more than one value per channel over all processes, got input ",
                          x.shape(), " here");
      kernels::batchnorm_sync_forward(x.data(), rows, c, sums.data(), momentum, eps, weight.value.data(),
                                      bias.value.data(), running_mean.data(), running_var.data(), y.data(),
                                      xhat_.defined() ? xhat_.data() : nullptr, invstd_.data());
      rows_total_ = total;
    } else {
      (void)sync, (void)x, (void)rows, (void)y;
      no_sync_kernels(name);
    }
  }
  void backward_synced(ProcessSum& sync, const Tensor<T, D>& dy, Tensor<T, D>& dx, float* dgamma, float* dbeta) {
    if constexpr (has_sync_kernels) {
      const std::int64_t c = weight.value.numel();
      const std::int64_t rows = dy.numel() / c;
      SyncSums sums(2 * c);
      kernels::batchnorm_sync_grad_sums(xhat_.data(), dy.data(), rows, c, sums.data(), dgamma, dbeta);
      sums.sum_processes(sync);
      kernels::batchnorm_sync_backward_dx(xhat_.data(), dy.data(), rows, c, weight.value.data(), invstd_.data(),
                                          sums.data(), rows_total_, dx.data());
    } else {
      (void)sync, (void)dy, (void)dx, (void)dgamma, (void)dbeta;
    }
  }

  Tensor<T, D> xhat_;
  Tensor<float, D> invstd_;
  bool batch_stats_ = true;
  bool synced_ = false;      // the last forward's statistics were summed over processes
  double rows_total_ = 0.0;  // ... over this many rows in all
};

template <std::int64_t C, class D = cpu, class T = float>
class BatchNorm2d : public BatchNormCore<D, T> {
  static_assert(C > 0, "BatchNorm2d<C>: C must be a positive channel count");
  static_assert(layer_types_ok<D, T>::ok);

 public:
  using device_type = D;
  using value_type = T;
  template <class D2, class T2>
  using on = BatchNorm2d<C, D2, T2>;
  static constexpr std::int64_t in_channels = C;
  static constexpr std::int64_t out_channels = C;
  static constexpr bool keeps_spatial = true;
  static constexpr Rank in_rank = Rank::map;
  static constexpr Rank out_rank = Rank::map;
  static constexpr int batchnorm_dims = 2;  // Sequential names BatchNorm1d as the fix after a Flatten
  static constexpr text type_name() { return text("BatchNorm2d<") + to_text(C) + text(">"); }

  BatchNorm2d() : BatchNormCore<D, T>(C) {}
  explicit BatchNorm2d(Build&) : BatchNormCore<D, T>(C) {}

  Shape out_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4 && in[3] == C, type_name().view(), " expects NHWC input [N, H, W, ", C,
                      "], got ", in);
    return in;
  }
  Tensor<T, D> forward(Ctx& ctx, const Tensor<T, D>& x) {
    out_shape(x.shape());
    return this->forward_rows(ctx, x, x.numel() / C, type_name().view());
  }
  Tensor<T, D> backward(Ctx& ctx, Tensor<T, D> dy) { return this->backward_rows(ctx, std::move(dy), type_name().view()); }
};

template <std::int64_t C, class D = cpu, class T = float>
class BatchNorm1d : public BatchNormCore<D, T> {
  static_assert(C > 0, "BatchNorm1d<C>: C must be a positive feature count");
  static_assert(layer_types_ok<D, T>::ok);

 public:
  using device_type = D;
  using value_type = T;
  template <class D2, class T2>
  using on = BatchNorm1d<C, D2, T2>;
  static constexpr std::int64_t in_channels = C;
  static constexpr std::int64_t out_channels = C;
  static constexpr bool keeps_spatial = true;
  static constexpr Rank in_rank = Rank::flat;
  static constexpr Rank out_rank = Rank::flat;
  static constexpr int batchnorm_dims = 1;  // Sequential names BatchNorm2d as the fix on a map
  static constexpr text type_name() { return text("BatchNorm1d<") + to_text(C) + text(">"); }

  BatchNorm1d() : BatchNormCore<D, T>(C) {}
  explicit BatchNorm1d(Build&) : BatchNormCore<D, T>(C) {}

  Shape out_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 2 && in[1] == C, type_name().view(), " expects input [N, ", C, "], got ", in);
    return in;
  }
  Tensor<T, D> forward(Ctx& ctx, const Tensor<T, D>& x) {
    out_shape(x.shape());
    return this->forward_rows(ctx, x, x.shape()[0], type_name().view());
  }
  Tensor<T, D> backward(Ctx& ctx, Tensor<T, D> dy) { return this->backward_rows(ctx, std::move(dy), type_name().view()); }
};

}  // namespace fastpp::nn
