#pragma once
// fastai's optimizers (fastai/optimizer.py) over a model's parameters: Adam with fastai's defaults and
// SGD with momentum, hyperparameters per parameter group, fastai's set_hyper rules for learning rates
// (LrSpec), and the state by stable names for checkpoints. Every arithmetic step runs through
// backend::optim_kernels<D>, one pass per parameter; the state is allocated once, at the first step.
#include <algorithm>
#include <cmath>
#include <concepts>
#include <functional>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../backend/cpu/optim_kernels.hpp"  // the default device's kernels
#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../nn/param.hpp"

namespace fastpp {

// One parameter group's hyperparameters; the schedulers write lr and mom here before every batch.
struct Hypers {
  double lr = 1e-3, mom = 0.9, sqr_mom = 0.99, eps = 1e-5, wd = 0.01;
};

// A learning rate as fastai takes it: one value for every group, slice(hi) (hi for the last group, hi/10
// for the others), slice(lo, hi) (lo to hi spread geometrically over the groups), or one per group.
class LrSpec {
 public:
  LrSpec(double lr) : values_{lr} { check_value(lr); }  // NOLINT: implicit, so set_lr(1e-3) reads as fastai
  LrSpec(std::vector<double> lrs) : values_(std::move(lrs)) {
    check(!values_.empty(), "LrSpec: an empty list of learning rates (give one value, one per group, or a slice)");
    for (double v : values_) check_value(v);
  }
  static LrSpec slice(double hi) { return slice(0.0, hi); }
  // fastai tests `if v.start`, so slice(0, hi) is slice(hi).
  static LrSpec slice(double lo, double hi) {
    check_value(lo);
    check_value(hi);
    check(hi > 0, "lr_slice: the upper learning rate is ", hi, "; it must be positive");
    LrSpec s(hi);
    s.kind_ = lo == 0 ? Kind::slice_hi : Kind::slice_lo_hi;
    s.lo_ = lo;
    return s;
  }

  // fastai's set_hyper: the value for each of n_groups groups.
  std::vector<double> per_group(int n_groups) const {
    check(n_groups >= 1, "LrSpec::per_group: ", n_groups, " parameter groups (need at least 1)");
    const auto n = static_cast<std::size_t>(n_groups);
    const double hi = values_.back();
    switch (kind_) {
      case Kind::slice_hi: {
        std::vector<double> v(n, hi / 10);
        v.back() = hi;
        return v;
      }
      case Kind::slice_lo_hi: {  // fastai's even_mults: start * step**i, step = (stop/start)**(1/(n-1))
        if (n == 1) return {hi};
        const double step = std::pow(hi / lo_, 1.0 / static_cast<double>(n - 1));
        std::vector<double> v(n);
        for (std::size_t i = 0; i < n; ++i) v[i] = lo_ * std::pow(step, static_cast<double>(i));
        return v;
      }
      case Kind::values:
        break;
    }
    if (values_.size() == 1) return std::vector<double>(n, values_[0]);
    check(values_.size() == n, "Trying to set ", values_.size(), " learning rates but there are ", n_groups,
          " parameter groups (give one value, one per group, or a slice)");
    return values_;
  }
  // The largest learning rate of the spec (for display).
  double max() const {
    const double m = *std::max_element(values_.begin(), values_.end());
    return kind_ == Kind::slice_lo_hi ? std::max(m, lo_) : m;
  }
  bool is_slice() const noexcept { return kind_ != Kind::values; }

 private:
  enum class Kind { values, slice_hi, slice_lo_hi };
  static void check_value(double v) {
    check(std::isfinite(v) && v >= 0, "learning rate ", v, " is not a finite value >= 0");
  }
  Kind kind_ = Kind::values;
  std::vector<double> values_;  // for slices: {hi}
  double lo_ = 0;
};

inline LrSpec lr_slice(double hi) { return LrSpec::slice(hi); }
inline LrSpec lr_slice(double lo, double hi) { return LrSpec::slice(lo, hi); }

// A parameter and its name in the model's state dict (names the optimizer state in checkpoints).
template <class D>
struct NamedParam {
  std::string name;
  nn::ParamOn<D>* param;
};

// Every parameter of a model, in for_each_param order. The pointers stay valid while the model lives.
template <class Model>
auto named_params(Model& m) -> std::vector<NamedParam<typename Model::device_type>> {
  using D = typename Model::device_type;
  std::vector<NamedParam<D>> out;
  m.for_each_param([&](const std::string& name, nn::ParamOn<D>& p) { out.push_back({name, &p}); });
  return out;
}

struct AdamOptions {
  double lr = 1e-3, mom = 0.9, sqr_mom = 0.99, eps = 1e-5, wd = 0.01;
  bool decouple_wd = true;
  bool wd_bn_bias = false;
};
struct SgdOptions {
  double lr = 1e-3, mom = 0.0, wd = 0.0;
  bool decouple_wd = true;
  bool wd_bn_bias = false;
};

namespace detail {

// What Adam and SGD share: the parameters, one Hypers per group, per-parameter state allocated once.
// Move-only: a copy would share the state tensors' storage with the original.
template <class D>
class OptimizerBase {
 public:
  using device_type = D;

  int n_groups() const noexcept { return static_cast<int>(hypers_.size()); }
  std::vector<Hypers>& hypers() noexcept { return hypers_; }
  const std::vector<Hypers>& hypers() const noexcept { return hypers_; }
  const std::vector<NamedParam<D>>& params() const noexcept { return params_; }

  void set_lr(const LrSpec& lr) {
    const auto v = lr.per_group(n_groups());
    for (std::size_t g = 0; g < hypers_.size(); ++g) hypers_[g].lr = v[g];
  }
  void set_mom(double mom) {
    for (auto& h : hypers_) h.mom = mom;
  }
  void set_wd(double wd) {
    for (auto& h : hypers_) h.wd = wd;
  }
  void zero_grad() {
    for (auto& np : params_) np.param->zero_grad();
  }
  // fastai's clear_state: the moments and step counts start again (do_wd is kept, as fastai keeps it).
  void clear_state() {
    for (auto& s : slots_) {
      for (auto* t : {&s.grad_avg, &s.sqr_avg})
        if (t->defined()) backend::optim_kernels<D>::zero(t->data(), t->numel());
      s.step = 0;
    }
  }

 protected:
  struct Slot {
    Tensor<float, D> grad_avg, sqr_avg;
    std::int64_t step = 0;
    bool do_wd = true;
  };

  OptimizerBase(std::vector<NamedParam<D>> params, const char* who, double lr, double mom, double sqr_mom,
                double eps, double wd, bool wd_bn_bias)
      : params_(std::move(params)) {
    int groups = 1;
    for (const auto& np : params_) {
      check(np.param != nullptr, who, ": parameter '", np.name, "' is a null pointer");
      check(np.param->group >= 0, who, ": parameter '", np.name, "' has group ", np.param->group,
            " (groups are numbered from 0)");
      groups = std::max(groups, np.param->group + 1);
    }
    hypers_.assign(static_cast<std::size_t>(groups), Hypers{lr, mom, sqr_mom, eps, wd});
    slots_.resize(params_.size());
    for (std::size_t i = 0; i < params_.size(); ++i)
      slots_[i].do_wd = wd_bn_bias || !(params_[i].param->is_norm || params_[i].param->is_bias);
  }
  OptimizerBase(OptimizerBase&&) noexcept = default;
  OptimizerBase& operator=(OptimizerBase&&) noexcept = default;
  OptimizerBase(const OptimizerBase&) = delete;
  OptimizerBase& operator=(const OptimizerBase&) = delete;
  ~OptimizerBase() = default;

  // Allocates the state of every parameter (frozen ones too, so a later unfreeze allocates nothing and a
  // checkpoint always holds the same set), zeroed. Runs once.
  void allocate_state(bool with_grad_avg, bool with_sqr_avg) {
    if (allocated_) return;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const Shape& shape = params_[i].param->value.shape();
      auto make = [&](Tensor<float, D>& t) {
        t = Tensor<float, D>::empty(shape);
        backend::optim_kernels<D>::zero(t.data(), t.numel());
      };
      if (with_grad_avg) make(slots_[i].grad_avg);
      if (with_sqr_avg) make(slots_[i].sqr_avg);
    }
    allocated_ = true;
  }
  // A parameter whose value was replaced by one of another size no longer fits its state.
  void check_fits(std::size_t i, const char* who) const {
    const auto& np = params_[i];
    const Tensor<float, D>& t = slots_[i].grad_avg.defined() ? slots_[i].grad_avg : slots_[i].sqr_avg;
    check(np.param->grad.numel() == np.param->value.numel(), who, ": parameter '", np.name, "' has a gradient of ",
          np.param->grad.shape(), " for a value of ", np.param->value.shape());
    check(!t.defined() || t.numel() == np.param->value.numel(), who, ": parameter '", np.name, "' is now ",
          np.param->value.shape(), " but its optimizer state is ", t.shape(),
          " (the model changed after the optimizer was made: make a new optimizer)");
  }
  const Hypers& hypers_of(std::size_t i) const { return hypers_[static_cast<std::size_t>(params_[i].param->group)]; }

  template <class F>
  void visit_state(F& f) {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (slots_[i].grad_avg.defined()) f(params_[i].name + ".grad_avg", slots_[i].grad_avg);
      if (slots_[i].sqr_avg.defined()) f(params_[i].name + ".sqr_avg", slots_[i].sqr_avg);
    }
  }

  std::vector<NamedParam<D>> params_;
  std::vector<Hypers> hypers_;
  std::vector<Slot> slots_;
  bool allocated_ = false;
};

}  // namespace detail

namespace detail {

// Multi-tensor steps. A device whose optim_kernels table has adam_step_many / sgd_step_many (with their
// descriptor types adam_tensor / sgd_tensor) gets all the parameters that share every hyperparameter of a
// step (the same group, the same weight-decay choice and, for Adam, the same step count) in one call: on a GPU
// one launch for many tensors instead of one each (src/cuda/optim.cu). Each element gets the bits of the
// per-tensor step; the cpu has no such entries and steps tensor by tensor.
template <class D>
concept has_many_steps = requires {
  typename backend::optim_kernels<D>::adam_tensor;
  typename backend::optim_kernels<D>::sgd_tensor;
};
struct NoTensor {};
template <class D>
struct many_step_types {
  using adam = NoTensor;
  using sgd = NoTensor;
};
template <has_many_steps D>
struct many_step_types<D> {
  using adam = typename backend::optim_kernels<D>::adam_tensor;
  using sgd = typename backend::optim_kernels<D>::sgd_tensor;
};
template <class D>
using adam_tensor_t = typename many_step_types<D>::adam;
template <class D>
using sgd_tensor_t = typename many_step_types<D>::sgd;

// The parameters of one step gathered by key (a handful of keys: groups x weight decay or not x step
// counts), each key's tensors run in one call at flush(). Tensors are independent, so the order of the calls
// does not change any result.
template <class D, class Tensor>
class StepBatch {
 public:
  struct Key {
    const Hypers* group;
    bool do_wd;
    std::int64_t step;
    bool operator==(const Key&) const = default;
  };
  template <class Run>
  void add(Key key, Tensor t, Run run) {
    auto it = std::find_if(buckets_.begin(), buckets_.end(), [&](const Bucket& b) { return b.key == key; });
    if (it == buckets_.end()) it = buckets_.insert(buckets_.end(), Bucket{key, run, {}});
    it->tensors.push_back(t);
  }
  void flush() {
    for (auto& b : buckets_) b.run(b.tensors.data(), static_cast<std::int64_t>(b.tensors.size()));
    buckets_.clear();
  }

 private:
  struct Bucket {
    Key key;
    std::function<void(const Tensor*, std::int64_t)> run;
    std::vector<Tensor> tensors;
  };
  std::vector<Bucket> buckets_;
};

}  // namespace detail

// fastai's Adam: decoupled weight decay (or L2 with decouple_wd = false), dampened first moment, second
// moment with sqr_mom, debiased step (fastai-behaviour.md 3.2). Norm-layer params and biases get no
// weight decay unless wd_bn_bias.
template <class D = cpu>
class AdamOn : public detail::OptimizerBase<D> {
  using Base = detail::OptimizerBase<D>;

 public:
  using device_type = D;
  using options_type = AdamOptions;
  static constexpr const char* name = "Adam";

  explicit AdamOn(std::vector<NamedParam<D>> params, AdamOptions opt = {})
      : Base(std::move(params), name, opt.lr, opt.mom, opt.sqr_mom, opt.eps, opt.wd, opt.wd_bn_bias),
        decouple_wd_(opt.decouple_wd) {}

  // One step for every parameter that requires a gradient, with its group's hyperparameters as they are now.
  void step() {
    this->allocate_state(true, true);
    detail::StepBatch<D, detail::adam_tensor_t<D>> batch;
    for (std::size_t i = 0; i < this->params_.size(); ++i) {
      auto& p = *this->params_[i].param;
      if (!p.requires_grad()) continue;
      this->check_fits(i, name);
      auto& s = this->slots_[i];
      const Hypers& h = this->hypers_of(i);
      s.step += 1;
      const double debias1 = 1 - std::pow(h.mom, static_cast<double>(s.step));
      const double debias2 = 1 - std::pow(h.sqr_mom, static_cast<double>(s.step));
      const double wd = s.do_wd ? h.wd : 0.0;
      if constexpr (detail::has_many_steps<D>) {
        // by value: the batch may run after this iteration's locals are gone
        const auto run = [=, hy = h, decouple = decouple_wd_](const auto* tensors, std::int64_t count) {
          backend::optim_kernels<D>::adam_step_many(tensors, count, hy.lr, hy.mom, hy.sqr_mom, hy.eps, wd, decouple,
                                                    debias1, debias2);
        };
        batch.add({&h, s.do_wd, s.step}, {p.value.data(), p.grad.data(), s.grad_avg.data(), s.sqr_avg.data(),
                                          p.value.numel()}, run);
      } else {
        backend::optim_kernels<D>::adam_step(p.value.data(), p.grad.data(), s.grad_avg.data(), s.sqr_avg.data(),
                                             p.value.numel(), h.lr, h.mom, h.sqr_mom, h.eps, wd, decouple_wd_,
                                             debias1, debias2);
      }
    }
    batch.flush();
  }

  // f(name, Tensor<float, D>&) for "<param>.grad_avg" and "<param>.sqr_avg" of every parameter.
  template <class F>
  void for_each_state(F&& f) {
    this->allocate_state(true, true);
    this->visit_state(f);
  }
  // f(name, std::int64_t&) for "<param>.step" of every parameter.
  template <class F>
  void for_each_counter(F&& f) {
    for (std::size_t i = 0; i < this->params_.size(); ++i) f(this->params_[i].name + ".step", this->slots_[i].step);
  }

 private:
  bool decouple_wd_;
};

// fastai's SGD: weight decay (decoupled or L2), then with momentum grad_avg = mom*grad_avg + g and
// p -= lr*grad_avg, without it p -= lr*g. As in fastai, whether momentum is used is decided by the mom
// given here: with mom = 0 a scheduler's later mom is ignored, otherwise it is read at every step.
template <class D = cpu>
class SgdOn : public detail::OptimizerBase<D> {
  using Base = detail::OptimizerBase<D>;

 public:
  using device_type = D;
  using options_type = SgdOptions;
  static constexpr const char* name = "SGD";

  explicit SgdOn(std::vector<NamedParam<D>> params, SgdOptions opt = {})
      : Base(std::move(params), name, opt.lr, opt.mom, Hypers{}.sqr_mom, Hypers{}.eps, opt.wd, opt.wd_bn_bias),
        decouple_wd_(opt.decouple_wd),
        momentum_(opt.mom != 0) {}

  void step() {
    this->allocate_state(momentum_, false);
    detail::StepBatch<D, detail::sgd_tensor_t<D>> batch;
    for (std::size_t i = 0; i < this->params_.size(); ++i) {
      auto& p = *this->params_[i].param;
      if (!p.requires_grad()) continue;
      this->check_fits(i, name);
      auto& s = this->slots_[i];
      const Hypers& h = this->hypers_of(i);
      const double mom = momentum_ ? h.mom : 0.0, wd = s.do_wd ? h.wd : 0.0;
      float* avg = momentum_ ? s.grad_avg.data() : nullptr;
      if constexpr (detail::has_many_steps<D>) {
        // by value: the batch may run after this iteration's locals are gone
        const auto run = [=, lr = h.lr, decouple = decouple_wd_](const auto* tensors, std::int64_t count) {
          backend::optim_kernels<D>::sgd_step_many(tensors, count, lr, mom, wd, decouple);
        };
        batch.add({&h, s.do_wd, 0}, {p.value.data(), p.grad.data(), avg, p.value.numel()}, run);
      } else {
        backend::optim_kernels<D>::sgd_step(p.value.data(), p.grad.data(), avg, p.value.numel(), h.lr, mom, wd,
                                            decouple_wd_);
      }
    }
    batch.flush();
  }

  // f(name, Tensor<float, D>&) for "<param>.grad_avg" of every parameter (none without momentum).
  template <class F>
  void for_each_state(F&& f) {
    this->allocate_state(momentum_, false);
    this->visit_state(f);
  }
  // SGD counts no steps (fastai's SGD has no step_stat): f is never called.
  template <class F>
  void for_each_counter(F&&) {}

 private:
  bool decouple_wd_;
  bool momentum_;
};

using Adam = AdamOn<cpu>;
using SGD = SgdOn<cpu>;

namespace detail {
template <class D>
struct state_visitor {
  void operator()(const std::string&, Tensor<float, D>&) const {}
};
struct counter_visitor {
  void operator()(const std::string&, std::int64_t&) const {}
};
}  // namespace detail

// What the Learner needs of an optimizer: built from named parameters and its options, hyperparameters
// per group that schedulers write, step/zero_grad/clear_state, and its state by name for checkpoints.
template <class O>
concept Optimizer =
    std::constructible_from<O, std::vector<NamedParam<typename O::device_type>>, typename O::options_type> &&
    requires(O& o, const O& co, const LrSpec& lr, double v) {
      { O::name } -> std::convertible_to<const char*>;
      { co.n_groups() } -> std::same_as<int>;
      { o.hypers() } -> std::same_as<std::vector<Hypers>&>;
      { co.hypers() } -> std::same_as<const std::vector<Hypers>&>;
      o.set_lr(lr);
      o.set_mom(v);
      o.set_wd(v);
      o.step();
      o.zero_grad();
      o.clear_state();
      o.for_each_state(detail::state_visitor<typename O::device_type>{});
      o.for_each_counter(detail::counter_visitor{});
    };

static_assert(Optimizer<Adam> && Optimizer<SGD>);

}  // namespace fastpp
