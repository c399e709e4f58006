#pragma once
// Learner<Model, Loss, Optimizer, Dls>: trains a model on DataLoaders the way fastai's Learner does. The
// device and the activation dtype are the model's (Model::device_type, Model::value_type): batches come
// from the loaders on the cpu and are copied to the model's device; the loss is built for that device.
//
//   auto learn = make_learner(dls, model, metrics(error_rate));   // loss from the target block
//   learn.fine_tune(2);
//
// One training step (fastai's order): forward -> loss and its gradient in one fused pass -> after_loss
// -> backward -> optimizer step -> after_step -> zero_grad -> after_batch. There is no autograd tape:
// each layer keeps in forward what its backward needs.
//
// If anything throws during a training batch (a callback, a bad batch), the model is put back as it was
// after the last finished step: BatchNorm's running statistics, which the forward has already moved,
// are restored from a copy taken before it, and the partial gradients are cleared.
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../backend/cast.hpp"
#include "../data/dataloader.hpp"
#include "../data/device_batch.hpp"
#include "../loss/default_loss.hpp"
#include "../models/state_dict.hpp"
#include "../nn/layer.hpp"
#include "learner_base.hpp"
#include "mixed_precision.hpp"
#include "checkpoint_file.hpp"
#include "progress.hpp"
#include "recipes.hpp"

namespace fastpp {

// What predict() returns: the decoded label, its class index and every class's probability.
struct Prediction {
  std::string label;
  std::int64_t index = -1;
  std::vector<float> probs;
};

// What get_preds() returns, rows in the loader's order (idxs[i] is the dataset position of row i).
template <class YBatch>
struct Preds {
  Tensor<float, cpu> probs;    // the loss's activation of the model's output (softmax or sigmoid)
  YBatch targets;
  Tensor<float, cpu> losses;   // per item, when asked for
  std::vector<std::int64_t> idxs;
};

template <class Model, class Loss, class Opt = AdamOn<typename Model::device_type>, class Dls = DataLoaders>
class Learner final : public LearnerBase {
  static_assert(nn::Layer<Model>, "Learner<Model, ...>: the model must be a layer (nn::Layer): a Sequential, a "
                                  "ResNet from models/, an AnyModel, or your own type with forward/backward");

 public:
  using device_type = typename Model::device_type;
  using value_type = typename Model::value_type;
  using model_type = Model;
  using loss_type = Loss;
  using optimizer_type = Opt;
  using dls_type = Dls;
  using loader_type = typename Dls::loader_type;
  using item_type = typename loader_type::item_type;
  using y_batch = typename loader_type::y_batch;
  using tensor = Tensor<value_type, device_type>;          // the model's activations
  using logits_tensor = Tensor<float, device_type>;        // what the loss reads: logits in float

  Learner(Dls dls, Model model, Loss loss = {}, std::vector<Metric> metric_list = {}, LearnerOptions opts = {},
          typename Opt::options_type opt_options = {}, std::string arch = "custom")
      : LearnerBase(std::move(opts)), dls_(std::move(dls)), model_(std::move(model)), loss_(std::move(loss)),
        metrics_(std::move(metric_list)), opt_options_(opt_options), arch_(std::move(arch)) {
    for (const auto& m : metrics_) recorder_->metric_names.push_back(m.name);
    state.metric_names = recorder_->metric_names;
    if constexpr (!std::is_same_v<device_type, cpu>)
      if constexpr (requires(Dls& d) { d.defer_batch_tfms(); }) dls_.defer_batch_tfms();
  }

  // Moving a learner moves its model, whose parameters the optimizer points at: the optimizer is rebuilt
  // over the moved parameters and takes over the old one's state (a learner is returned by value from
  // vision_learner after freeze() has made its optimizer).
  Learner(Learner&& o)
      : LearnerBase(std::move(o)), dls_(std::move(o.dls_)), model_(std::move(o.model_)), loss_(std::move(o.loss_)),
        metrics_(std::move(o.metrics_)), opt_options_(o.opt_options_), arch_(std::move(o.arch_)),
        scaler_(std::move(o.scaler_)) {
    if (o.half_) half_.emplace(model_);
    if (o.opt_) {
      create_opt();
      take_state(*o.opt_, *opt_);
      o.opt_.reset();
    }
  }
  Learner& operator=(Learner&&) = delete;
  Learner(const Learner&) = delete;
  Learner& operator=(const Learner&) = delete;

  Dls& dls() { return dls_; }
  Model& model() { return model_; }
  Loss& loss_func() { return loss_; }
  const std::string& arch() const { return arch_; }
  const std::vector<Metric>& metric_list() const { return metrics_; }
  // The optimizer, created on first use from the model's parameters (fastai's create_opt).
  Opt& opt() {
    if (!opt_) create_opt();
    return *opt_;
  }

  int n_groups() override { return opt().n_groups(); }
  std::int64_t n_train_batches() const override { return dls_.train.n_batches(); }
  std::vector<Hypers>& hypers() override { return opt().hypers(); }
  void visit_params(const ParamVisitor& f) override {
    model_.for_each_param([&](const std::string& name, nn::ParamOn<device_type>& p) {
      f(name, p.value.data(), p.requires_grad() ? p.grad.data() : nullptr, p.value.numel());
    });
  }

  void freeze_to(int n) override {
    const int groups = opt().n_groups();
    check<ValueError>(n >= 0 || groups > 1, "freeze: the model has a single parameter group, so freezing all but "
                                            "the last would freeze nothing (split the model into groups first)");
    nn::freeze_to(model_, n, opts_.train_bn);
    opt_->clear_state();
  }

  // Mixed precision (fastai's to_fp16): the loss scaled by a dynamic factor before backward and the step
  // skipped when a gradient overflows (LossScaler), with half values in the model:
  //  * a model built with half (or bfloat16) activations, e.g. vision_learner<resnet50, cuda, half>(dls),
  //    stores its activations and their gradients in that type and keeps float parameters (the
  //    optimizer's masters); on the GPU its convolutions and GEMMs run on tensor cores
  //    (backend/mixed_layer_kernels.hpp). This is the fast path: to_fp16 adds the loss scaling.
  //  * a float model emulates it: the model computes in float with half-rounded copies of float master
  //    weights (HalfWeights) and its input, output and output gradient rounded to half, no faster than
  //    float. fastai's numbers on the cpu, where half arithmetic does not pay.
  Learner& to_fp16(LossScalerOptions o = {}) {
    scaler_.emplace(o);
    if constexpr (std::is_same_v<value_type, float>) half_.emplace(model_);
    return *this;
  }
  Learner& to_fp32() {
    scaler_.reset();
    half_.reset();
    return *this;
  }
  bool is_fp16() const noexcept { return scaler_.has_value(); }
  const LossScaler* loss_scaler() const noexcept { return scaler_ ? &*scaler_ : nullptr; }

  void fit(int n_epoch, const LrSpec& lr = 1e-3, const FitOptions& fo = {}) override;
  std::vector<double> validate() override;
  std::filesystem::path save(const std::string& name) override;
  void load(const std::string& name) override;

  // Predictions of a loader (0: train, 1: valid), with per-item losses when asked.
  Preds<y_batch> get_preds(int ds_idx = 1, bool with_loss = false);
  // One new item (an image file) through the validation pipeline and the model.
  Prediction predict(const item_type& item);

 private:
  void create_opt() { opt_.emplace(named_params(model_), opt_options_); }
  static void take_state(Opt& from, Opt& to) {
    std::map<std::string, Tensor<float, device_type>> tensors;
    std::map<std::string, std::int64_t> counters;
    from.for_each_state([&](const std::string& n, Tensor<float, device_type>& t) { tensors[n] = t; });
    from.for_each_counter([&](const std::string& n, std::int64_t& c) { counters[n] = c; });
    to.for_each_state([&](const std::string& n, Tensor<float, device_type>& t) { t = tensors.at(n); });
    to.for_each_counter([&](const std::string& n, std::int64_t& c) { c = counters.at(n); });
    to.hypers() = from.hypers();
  }
  // Checkpoints (learner_checkpoint.hpp): everything checked before anything is written.
  CheckpointFile checkpoint() ;
  void check_checkpoint(const CheckpointFile& f, const std::filesystem::path& origin, Opt& fresh);
  void apply_checkpoint(const CheckpointFile& f, const std::filesystem::path& origin, Opt& fresh);
  const loader_type& loader(int ds_idx) const {
    check<IndexError>(ds_idx == 0 || ds_idx == 1, "ds_idx must be 0 (train) or 1 (valid), got ", ds_idx);
    return ds_idx == 0 ? dls_.train : dls_.valid;
  }
  template <class T>
  static auto to_device(const Tensor<T, cpu>& t) {
    if constexpr (std::is_same_v<device_type, cpu>) return t;
    else return t.template to<device_type>();
  }
  template <class T, class D>
  static double host_value(const Tensor<T, D>& t) {
    T v{};
    copy_bytes<cpu, D>(&v, t.data(), sizeof(T));
    return static_cast<double>(v);
  }
  static Tensor<float, cpu> host_float(const logits_tensor& t) { return t.template to<cpu>(); }

  void one_epoch(int epoch, int n_epoch);
  void train_pass();
  void valid_pass(std::vector<double>& values);
  void train_batch(const typename loader_type::batch_type& b, std::uint64_t loader_epoch);
  // The loss of a batch and the gradient of the logits into dlogits_.
  double loss_and_grad(const logits_tensor& out, const y_batch& y);
  // BatchNorm's running statistics and batch counters, kept across a training batch that may fail.
  struct BufferSnapshot {
    std::vector<float> values;
    std::vector<std::int64_t> counts;
  };
  // Fills buffer_snapshot_ (reused from batch to batch, so a training step allocates nothing for it).
  void snapshot_buffers();
  void restore_buffers(const BufferSnapshot& saved);
  BufferSnapshot buffer_snapshot_;

  Dls dls_;
  Model model_;
  Loss loss_;
  std::vector<Metric> metrics_;
  typename Opt::options_type opt_options_;
  std::optional<Opt> opt_;
  std::string arch_;
  logits_tensor dlogits_;
  std::optional<LossScaler> scaler_;
  std::optional<HalfWeights<device_type>> half_;
  // Where the device's work is queued (backend/kernels.hpp): nothing on the cpu, a stream of this
  // learner's own on a GPU. A moved-to learner makes its own.
  backend::execution_context<device_type> exec_;

  // While it lives, the model holds half-rounded weights (fp16 inference); the masters come back after.
  struct HalfScope {
    Learner& l;
    explicit HalfScope(Learner& learn) : l(learn) {
      if (l.half_) l.half_->round_model(l.model_);
    }
    ~HalfScope() {
      if (l.half_) l.half_->restore_masters(l.model_);
    }
    HalfScope(const HalfScope&) = delete;
    HalfScope& operator=(const HalfScope&) = delete;
  };
  // The input as the model sees it, on its device and in its dtype; under emulated fp16 rounded to half, in a
  // tensor of its own (the batch itself is not changed).
  tensor model_input(const typename loader_type::batch_type& b) const {
    if (b.deferred == nullptr) return model_input(b.x);
    return as_model_input(batch_input_on<device_type>(b));  // a fresh tensor
  }
  tensor model_input(const Tensor<float, cpu>& x) const {
    // to_device shares the batch's storage on the cpu: the emulation's rounding needs a copy there
    if (std::is_same_v<device_type, cpu> && half_) return as_model_input(x.template to<device_type>());
    return as_model_input(to_device(x));
  }
  // x, a tensor the caller may change, in the model's dtype.
  tensor as_model_input(Tensor<float, device_type> x) const {
    if constexpr (!std::is_same_v<value_type, float>) {
      return backend::cast_on_device<value_type>(x);
    } else {
      if (half_) round_to_half(x);
      return x;
    }
  }
  // The model's output as the loss reads it: float logits (under emulated fp16, rounded to half in place).
  logits_tensor logits_of(tensor out) const {
    if constexpr (!std::is_same_v<value_type, float>) {
      return backend::cast_on_device<float>(out);
    } else {
      if (half_) round_to_half(out);
      return out;
    }
  }
  // The logits' gradient in the model's dtype, for its backward.
  tensor in_model_dtype(const logits_tensor& d) const {
    if constexpr (!std::is_same_v<value_type, float>) return backend::cast_on_device<value_type>(d);
    else return d;
  }
};

// Learner from loaders and a model; the loss is the target block's default_loss on the model's device.
template <class Opt = void, class Dls, class Model>
auto make_learner(Dls dls, Model model, std::vector<Metric> metric_list = {}, LearnerOptions opts = {}) {
  using D = typename Model::device_type;
  using Y = typename Dls::loader_type::y_block_type;
  using Loss = default_loss_t<Y, D>;
  using O = std::conditional_t<std::is_void_v<Opt>, AdamOn<D>, Opt>;
  return Learner<Model, Loss, O, Dls>(std::move(dls), std::move(model), Loss{}, std::move(metric_list), std::move(opts));
}

}  // namespace fastpp

#include "learner_impl.hpp"
#include "learner_checkpoint.hpp"
