#pragma once
// Mixed precision's building blocks, for the Learner's to_fp16() (fastai-behaviour.md section 4):
//
//   LossScaler       dynamic loss scaling with PyTorch GradScaler's semantics;
//   HalfWeights<D>   the model holds half-rounded weights for forward and backward, float master copies
//                    kept here take the optimizer step (fastai's legacy ModelToHalf + master weights,
//                    which that section names the reference design for a port without autocast);
//   round_to_half    rounds a float tensor's values to the nearest half in place (activations "stored in
//                    half" while the arithmetic stays float, as on the CPU path).
//
// One training step with all three (the Learner's order):
//   half.round_model(model);                  // weights = half(master)
//   forward (round_to_half on activations), loss; backward of loss * scaler.scale()
//   half.restore_masters(model);              // weights = masters; the gradients stay
//   bool ok = scaler.unscale_and_check(model);
//   if (ok) { optimizer step; half.capture_masters(model); }   // else: skip, weights bit-identical
//   scaler.update(!ok); zero_grad
//
// LossScaler against PyTorch's torch.amp.GradScaler (its docs and aten/src/ATen/native/cpu/
// AmpGradScalerKernels.cpp): same defaults (init_scale 2^16, growth_factor 2, backoff_factor 0.5,
// growth_interval 2000), same option checks (growth_factor > 1, 0 < backoff_factor < 1), the scale kept as
// a float32 value, unscaling multiplies by float(1 / double(scale)), and update() is
// _amp_update_scale_: on inf/NaN scale *= backoff and the tracker resets; else the tracker counts and at
// growth_interval the scale grows unless that would overflow float32, and the tracker resets. There is no
// lower bound on the scale (PyTorch has none either). Differences:
//   * the finite check looks at the unscaled values, PyTorch's at the scaled ones: this catches all
//     PyTorch catches (inf * inv_scale stays inf, NaN stays NaN) plus an overflow while unscaling with a
//     scale below 1, where PyTorch would let an inf gradient through;
//   * gradients of parameters that do not require a gradient (frozen) are left alone, as PyTorch leaves
//     params whose .grad is None;
//   * no per-optimizer state machine (unscale_ twice, step(), OptState) and no `enabled` flag: the Learner
//     calls unscale_and_check once per step and skips the step itself; no update(new_scale) override;
//   * skipped_steps() counts the skipped steps (PyTorch keeps no such count); the growth tracker is int64.
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "../backend/cpu/optim_kernels.hpp"  // the default device's unscale kernel
#include "../backend/kernels.hpp"
#include "../core/allocator.hpp"
#include "../core/device.hpp"
#include "../core/error.hpp"
#include "../core/half.hpp"
#include "../core/tensor.hpp"
#include "../core/thread_pool.hpp"
#include "../nn/param.hpp"

namespace fastpp {

namespace detail {

template <class P>
using param_device_t = typename std::remove_reference_t<decltype(std::declval<P&>().value)>::device_type;

}  // namespace detail

struct LossScalerOptions {
  double init_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  std::int64_t growth_interval = 2000;
};

class LossScaler {
 public:
  // Everything a checkpoint needs to continue exactly.
  struct State {
    double scale;                 // a float32 value, as PyTorch keeps it
    std::int64_t growth_tracker;  // clean steps since the last growth or backoff, in [0, growth_interval)
    std::int64_t skipped;         // steps skipped so far
  };

  explicit LossScaler(LossScalerOptions o = {}) : opt_(o) {
    check<ValueError>(std::isfinite(o.init_scale) && o.init_scale > 0 && std::isfinite(static_cast<float>(o.init_scale)),
                      "LossScaler: init_scale must be a positive float32 value, got ", o.init_scale);
    check<ValueError>(std::isfinite(o.growth_factor) && o.growth_factor > 1.0,
                      "LossScaler: growth_factor must be > 1 (PyTorch's rule), got ", o.growth_factor);
    check<ValueError>(o.backoff_factor > 0.0 && o.backoff_factor < 1.0,
                      "LossScaler: backoff_factor must lie in (0, 1) (PyTorch's rule), got ", o.backoff_factor);
    check<ValueError>(o.growth_interval >= 1, "LossScaler: growth_interval must be at least 1, got ",
                      o.growth_interval);
    scale_ = static_cast<float>(o.init_scale);
  }

  // The factor the loss (its gradient) is multiplied by before backward.
  double scale() const noexcept { return scale_; }
  // What the gradients are multiplied by to unscale them: PyTorch's scale.double().reciprocal().float().
  float inv_scale() const noexcept { return static_cast<float>(1.0 / static_cast<double>(scale_)); }

  // Divides every gradient of the parameters that require one by the scale, in place, and reports
  // whether all of them are finite. `model.for_each_param(f)` calls f(name, ParamOn<D>&); the work is
  // backend::optim_kernels<D>::unscale_and_check_finite, so any device with that table works.
  template <class Model>
  bool unscale_and_check(Model& model) {
    const float inv = inv_scale();
    bool finite = true;
    model.for_each_param([&](const std::string&, auto& p) {
      if (!p.requires_grad()) return;
      using D = detail::param_device_t<decltype(p)>;
      // every value is unscaled (no early exit): a partial unscale would leave gradients half scaled
      finite &= backend::optim_kernels<D>::unscale_and_check_finite(p.grad.data(), p.grad.numel(), inv);
    });
    return finite;
  }

  // After every step, skipped or not (PyTorch's _amp_update_scale_).
  void update(bool found_inf) {
    if (found_inf) {
      scale_ = static_cast<float>(static_cast<double>(scale_) * opt_.backoff_factor);
      tracker_ = 0;
      ++skipped_;
      return;
    }
    const std::int64_t successful = tracker_ + 1;
    if (successful == opt_.growth_interval) {
      const auto grown = static_cast<float>(static_cast<double>(scale_) * opt_.growth_factor);
      if (std::isfinite(grown)) scale_ = grown;  // never grow past float32's range to inf
      tracker_ = 0;
    } else {
      tracker_ = successful;
    }
  }

  std::int64_t growth_tracker() const noexcept { return tracker_; }
  std::int64_t skipped_steps() const noexcept { return skipped_; }
  const LossScalerOptions& options() const noexcept { return opt_; }

  State state() const noexcept { return {scale_, tracker_, skipped_}; }
  // Throws ValueError, naming the field, for a state this scaler cannot be in (a damaged checkpoint), so
  // a loader can validate everything before changing anything.
  void check_state(const State& s) const {
    check<ValueError>(std::isfinite(s.scale) && s.scale > 0 && static_cast<double>(static_cast<float>(s.scale)) == s.scale,
                      "LossScaler state: scale ", s.scale, " is not a positive float32 value");
    check<ValueError>(s.growth_tracker >= 0 && s.growth_tracker < opt_.growth_interval, "LossScaler state: growth_tracker ",
                      s.growth_tracker, " is outside [0, growth_interval = ", opt_.growth_interval, ")");
    check<ValueError>(s.skipped >= 0, "LossScaler state: skipped ", s.skipped, " is negative");
  }
  void set_state(State s) {
    check_state(s);
    scale_ = static_cast<float>(s.scale);
    tracker_ = s.growth_tracker;
    skipped_ = s.skipped;
  }

 private:
  LossScalerOptions opt_;
  float scale_ = 65536.0f;
  std::int64_t tracker_ = 0;
  std::int64_t skipped_ = 0;
};

// Rounds every value of a float tensor to the nearest half (core/half.hpp: ties to even, |x| >= 65520 to
// inf, subnormal halves kept, NaN kept) in place: a float tensor whose values are exactly those of a half
// tensor, for activations "stored in half" on the CPU path.
template <class D>
void round_to_half(Tensor<float, D>& t) {
  backend::optim_kernels<D>::round_to_half(t.data(), t.numel(), t.data());
}

// fp16 weights with float masters: see the step order at the top. Normalisation layers' parameters stay
// float unless keep_norm_float is false (fastai's ModelToHalf keeps BatchNorm in float too).
template <class D>
class HalfWeights {
 public:
  // Keeps a float master copy of every parameter's value, in for_each_param order.
  template <class Model>
  explicit HalfWeights(Model& m, bool keep_norm_float = true) : keep_norm_float_(keep_norm_float) {
    m.for_each_param([&](const std::string& name, auto& p) {
      static_assert(std::is_same_v<std::remove_reference_t<decltype(p.value)>, Tensor<float, D>>,
                    "HalfWeights<D>: the model's parameters must be float tensors on the same device D");
      names_.push_back(name);
      masters_.push_back(p.value.clone());
    });
  }

  // Model values = half(master) (norm parameters: = master when kept float). Call before forward.
  template <class Model>
  void round_model(Model& m) {
    each(m, "round_model", [&](auto& p, Tensor<float, D>& master) {
      if (keep_norm_float_ && p.is_norm) copy_bytes<D, D>(p.value.data(), master.data(), master.nbytes());
      else backend::optim_kernels<D>::round_to_half(master.data(), master.numel(), p.value.data());
    });
  }
  // Model values = masters. Call after backward, before the optimizer step: the gradients, computed with
  // the half weights, stay as they are.
  template <class Model>
  void restore_masters(Model& m) {
    each(m, "restore_masters", [&](auto& p, Tensor<float, D>& master) {
      copy_bytes<D, D>(p.value.data(), master.data(), master.nbytes());
    });
  }
  // Masters = model values. Call after the optimizer step (and after loading weights).
  template <class Model>
  void capture_masters(Model& m) {
    each(m, "capture_masters", [&](auto& p, Tensor<float, D>& master) {
      copy_bytes<D, D>(master.data(), p.value.data(), master.nbytes());
    });
  }

  const std::vector<Tensor<float, D>>& masters() const noexcept { return masters_; }
  bool keep_norm_float() const noexcept { return keep_norm_float_; }

 private:
  // Calls f(param, its master) for every parameter, once the model is seen to have the parameters it had
  // at construction (same names, sizes and order): a mismatch throws before anything changed.
  template <class Model, class F>
  void each(Model& m, const char* what, F&& f) {
    std::size_t i = 0;
    m.for_each_param([&](const std::string& name, auto& p) {
      check<ValueError>(i < masters_.size(), "HalfWeights::", what, ": the model has more parameters than the ",
                        masters_.size(), " it had when the HalfWeights were made (", name, ")");
      check<ValueError>(names_[i] == name && masters_[i].numel() == p.value.numel(), "HalfWeights::", what,
                        ": parameter #", i, " is \"", name, "\" of shape ", p.value.shape(), " but was \"", names_[i],
                        "\" of shape ", masters_[i].shape(), " when the HalfWeights were made");
      ++i;
    });
    check<ValueError>(i == masters_.size(), "HalfWeights::", what, ": the model has ", i, " parameters, not the ",
                      masters_.size(), " it had when the HalfWeights were made");
    i = 0;
    m.for_each_param([&](const std::string&, auto& p) { f(p, masters_[i++]); });
  }

  bool keep_norm_float_ = true;
  std::vector<std::string> names_;
  std::vector<Tensor<float, D>> masters_;
};

}  // namespace fastpp
