#pragma once
// The Learner's training loop, validation and predictions (declared in learner.hpp).
// Included at the end of learner.hpp, which declares what is defined here.

namespace fastpp {

template <class Model, class Loss, class Opt, class Dls>
void Learner<Model, Loss, Opt, Dls>::fit(int n_epoch, const LrSpec& lr, const FitOptions& fo) {
  typename backend::execution_context<device_type>::scope on_device(exec_);  // the learner's stream on a GPU
  check<ValueError>(n_epoch >= 0, "fit: n_epoch must be 0 or more, got ", n_epoch);
  check<ValueError>(fo.start_epoch >= 0 && fo.start_epoch <= n_epoch, "fit: start_epoch ", fo.start_epoch,
                    " is outside 0..", n_epoch);
  check<ValueError>(dls_.train.n_batches() > 0, "fit: the train loader has no batch (", dls_.train.n_items(),
                    " items, bs = ", dls_.train.bs(), ")");
  if (!opt_ || fo.reset_opt) create_opt();
  if (const auto wd = fo.wd ? fo.wd : opts_.wd) opt_->set_wd(*wd);
  opt_->set_lr(lr);

  running_ = fit_callbacks(fo.cbs);
  state = TrainState{};
  state.metric_names = recorder_->metric_names;
  state.n_epoch = n_epoch;
  state.train_iter = static_cast<std::int64_t>(fo.start_epoch) * dls_.train.n_batches();
  // after_fit runs however the fit ends; a Cancel ends it quietly, anything else is rethrown after it.
  auto finish = [&] {
    event(&Callback::after_fit);
    running_.clear();
  };
  try {
    event(&Callback::before_fit);
    for (int e = fo.start_epoch; e < n_epoch; ++e) one_epoch(e, n_epoch);
  } catch (const CancelFit&) {
  } catch (...) {
    try {
      finish();
    } catch (...) {
    }
    throw;
  }
  finish();
}

template <class Model, class Loss, class Opt, class Dls>
void Learner<Model, Loss, Opt, Dls>::one_epoch(int epoch, int n_epoch) {
  const auto t0 = std::chrono::steady_clock::now();
  state.epoch = epoch;
  try {
    event(&Callback::before_epoch);
    try {
      state.training = true;
      state.pct_train = static_cast<double>(epoch) / n_epoch;
      event(&Callback::before_train);
      train_pass();
    } catch (const CancelTrain&) {
    }
    event(&Callback::after_train);
    std::vector<double> values{recorder_->smooth.value()};
    try {
      state.training = false;
      event(&Callback::before_validate);
      valid_pass(values);
    } catch (const CancelValid&) {
    }
    event(&Callback::after_validate);
    state.epoch_values = values;
    state.epoch_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } catch (const CancelEpoch&) {
  }
  epochs_done_ = epoch + 1;
  event(&Callback::after_epoch);
}

template <class Model, class Loss, class Opt, class Dls>
void Learner<Model, Loss, Opt, Dls>::train_pass() {
  const auto& dl = dls_.train;
  state.n_iter = dl.n_batches();
  const double step = 1.0 / (static_cast<double>(state.n_iter) * state.n_epoch);
  state.iter = 0;
  state.data_wait_seconds = 0.0;
  using clock = std::chrono::steady_clock;
  auto waited = [&](clock::time_point since) {
    state.data_wait_seconds += std::chrono::duration<double>(clock::now() - since).count();
  };
  auto t0 = clock::now();
  auto it = dl.begin();  // the first batch is taken here
  waited(t0);
  for (; it != dl.end(); t0 = clock::now(), ++it, waited(t0), ++state.iter) {
    const auto& b = *it;
    state.batch_size = batch_rows(b);
    try {
      event(&Callback::before_batch);
      train_batch(b, it.epoch());
    } catch (const CancelBatch&) {
    }
    ++state.train_iter;
    state.pct_train += step;
    event(&Callback::after_batch);
  }
}

template <class Model, class Loss, class Opt, class Dls>
void Learner<Model, Loss, Opt, Dls>::train_batch(const typename loader_type::batch_type& b, std::uint64_t loader_epoch) {
  snapshot_buffers();
  try {
    // Dropout's masks: one stream per (seed, loader epoch, batch), so a resumed run draws the same ones.
    nn::Ctx ctx{true, true, Rng(opts_.seed ^ 0xD50FF0Cull, (loader_epoch << 32) ^ static_cast<std::uint64_t>(state.iter)), 0};
    ctx.input_grad = false;  // nothing uses the images' gradient
    ctx.parallel = parallel_hooks;
    if (half_) half_->round_model(model_);
    state.loss = loss_and_grad(logits_of(model_.forward(ctx, model_input(b))), b.y);
    event(&Callback::after_loss);
    if (scaler_) {
      // The scale is a power of two, so scaling is exact until the rounding to half overflows to inf.
      // (the unscale kernel multiplies in place by any factor; its finiteness answer is not needed here)
      backend::optim_kernels<device_type>::unscale_and_check_finite(dlogits_.data(), dlogits_.numel(),
                                                                   static_cast<float>(scaler_->scale()));
      if (half_) round_to_half(dlogits_);
    }
    model_.backward(ctx, in_model_dtype(dlogits_));
    event(&Callback::after_backward);
    state.step_skipped = false;
    bool finite = true;
    if (half_) {
      half_->restore_masters(model_);
      finite = scaler_->unscale_and_check(model_);
    }
    try {
      if (!finite) throw CancelStep{};
      opt_->step();
      if (half_) half_->capture_masters(model_);
    } catch (const CancelStep&) {
      state.step_skipped = true;
    }
    if (scaler_) scaler_->update(!finite);
    event(&Callback::after_step);
    opt_->zero_grad();
  } catch (const CancelBatch&) {
    if (half_) half_->restore_masters(model_);
    opt_->zero_grad();
    throw;
  } catch (...) {
    if (half_) half_->restore_masters(model_);
    restore_buffers(buffer_snapshot_);
    opt_->zero_grad();
    throw;
  }
}

template <class Model, class Loss, class Opt, class Dls>
double Learner<Model, Loss, Opt, Dls>::loss_and_grad(const logits_tensor& out, const y_batch& y) {
  if (!dlogits_.defined() || dlogits_.shape() != out.shape()) dlogits_ = logits_tensor::empty(out.shape());
  if constexpr (Loss::softmax_kind) {
    return host_value(loss_.forward_backward(out, to_device(y), dlogits_));
  } else {
    const auto o = loss_(out, to_device(y));
    o.backward_out(dlogits_, full_on<typename decltype(o.loss)::value_type, device_type>(o.loss.shape(), 1));
    return host_value(o.loss);
  }
}

template <class Model, class Loss, class Opt, class Dls>
void Learner<Model, Loss, Opt, Dls>::valid_pass(std::vector<double>& values) {
  const auto& dl = dls_.valid;
  state.n_iter = dl.n_batches();
  state.iter = 0;
  HalfScope half(*this);
  double loss_sum = 0.0;
  std::vector<double> metric_sums(metrics_.size(), 0.0);
  std::int64_t n = 0;
  for (auto it = dl.begin(); it != dl.end(); ++it, ++state.iter) {
    const auto& b = *it;
    state.batch_size = batch_rows(b);
    try {
      event(&Callback::before_batch);
      nn::Ctx ctx = nn::Ctx::eval();
      const logits_tensor out = logits_of(model_.forward(ctx, model_input(b)));
      state.loss = host_value(loss_(out, to_device(b.y)).loss);
      event(&Callback::after_loss);
      const auto bs = static_cast<double>(state.batch_size);
      loss_sum += state.loss * bs;
      if (!metrics_.empty()) {
        const auto preds = host_float(out);
        for (std::size_t m = 0; m < metrics_.size(); ++m) metric_sums[m] += metrics_[m].fn(preds, b.y) * bs;
      }
      n += state.batch_size;
    } catch (const CancelBatch&) {
    }
    event(&Callback::after_batch);
  }
  if (group_) {
    // Each process validated its shard: the sums over all of them give the single-process averages.
    std::vector<double> sums{static_cast<double>(n), loss_sum};
    sums.insert(sums.end(), metric_sums.begin(), metric_sums.end());
    group_->sum(sums.data(), sums.size());
    n = static_cast<std::int64_t>(sums[0]);
    loss_sum = sums[1];
    std::copy(sums.begin() + 2, sums.end(), metric_sums.begin());
  }
  const double denom = n > 0 ? static_cast<double>(n) : 1.0;
  values.push_back(loss_sum / denom);
  for (double s : metric_sums) values.push_back(s / denom);
}

template <class Model, class Loss, class Opt, class Dls>
std::vector<double> Learner<Model, Loss, Opt, Dls>::validate() {
  typename backend::execution_context<device_type>::scope on_device(exec_);  // the learner's stream on a GPU
  std::vector<CallbackPtr> none;
  std::swap(none, running_);
  std::vector<double> values;
  const TrainState kept = state;
  try {
    valid_pass(values);
  } catch (...) {
    state = kept;
    std::swap(none, running_);
    throw;
  }
  state = kept;
  std::swap(none, running_);
  return values;
}

namespace learner_detail {
// Rows of host tensors stacked along the first axis.
template <class T>
Tensor<T, cpu> concat_rows(const std::vector<Tensor<T, cpu>>& parts) {
  check<ValueError>(!parts.empty(), "get_preds: the loader has no batch");
  std::int64_t rows = 0;
  for (const auto& p : parts) rows += p.size(0);
  Shape s = parts.front().shape().with_first(rows);
  auto out = Tensor<T, cpu>::empty(s);
  std::int64_t at = 0;
  for (const auto& p : parts) {
    std::memcpy(out.data() + at, p.data(), p.nbytes());
    at += p.numel();
  }
  return out;
}
}  // namespace learner_detail

template <class Model, class Loss, class Opt, class Dls>
auto Learner<Model, Loss, Opt, Dls>::get_preds(int ds_idx, bool with_loss) -> Preds<y_batch> {
  typename backend::execution_context<device_type>::scope on_device(exec_);  // the learner's stream on a GPU
  const auto& dl = loader(ds_idx);
  std::vector<Tensor<float, cpu>> probs, losses;
  std::vector<y_batch> targets;
  Preds<y_batch> out;
  Loss per_item = loss_;
  per_item.reduction = Reduction::none;
  HalfScope half(*this);
  for (const auto& b : dl) {
    nn::Ctx ctx = nn::Ctx::eval();
    const logits_tensor logits = logits_of(model_.forward(ctx, model_input(b)));
    const auto act = loss_.activation(logits);
    probs.push_back(host_float(act.reshape(logits.shape())));
    targets.push_back(b.y);
    out.idxs.insert(out.idxs.end(), b.idxs.begin(), b.idxs.end());
    if (with_loss) {
      const auto l = per_item(logits, to_device(b.y)).loss;
      auto h = Tensor<float, cpu>::empty({batch_rows(b)});
      std::vector<typename decltype(l)::value_type> host(static_cast<std::size_t>(l.numel()));
      copy_bytes<cpu, device_type>(host.data(), l.data(), l.nbytes());
      const std::int64_t per_row = l.numel() / batch_rows(b);  // 1 for cross-entropy, classes for BCE
      for (std::int64_t i = 0; i < batch_rows(b); ++i) {
        double s = 0.0;
        for (std::int64_t j = 0; j < per_row; ++j) s += static_cast<double>(host[static_cast<std::size_t>(i * per_row + j)]);
        h.data()[i] = static_cast<float>(s / static_cast<double>(per_row));
      }
      losses.push_back(h);
    }
  }
  out.probs = learner_detail::concat_rows(probs);
  out.targets = learner_detail::concat_rows(targets);
  if (with_loss) out.losses = learner_detail::concat_rows(losses);
  return out;
}

template <class Model, class Loss, class Opt, class Dls>
Prediction Learner<Model, Loss, Opt, Dls>::predict(const item_type& item) {
  typename backend::execution_context<device_type>::scope on_device(exec_);  // the learner's stream on a GPU
  const auto x = dls_.valid.inputs({item});
  nn::Ctx ctx = nn::Ctx::eval();
  HalfScope half(*this);
  const logits_tensor logits = logits_of(model_.forward(ctx, model_input(x)));
  const auto probs = host_float(loss_.activation(logits).reshape(logits.shape()));
  Prediction p;
  p.probs.assign(probs.data(), probs.data() + probs.numel());
  if constexpr (Loss::softmax_kind) {
    p.index = 0;
    for (std::int64_t j = 1; j < probs.numel(); ++j)
      if (probs.data()[j] > probs.data()[p.index]) p.index = j;
    if (p.index < static_cast<std::int64_t>(dls_.vocab.size())) p.label = dls_.vocab[p.index];
  } else {
    for (std::int64_t j = 0; j < probs.numel(); ++j)
      if (probs.data()[j] > loss_.thresh && j < static_cast<std::int64_t>(dls_.vocab.size()))
        p.label += (p.label.empty() ? "" : ";") + dls_.vocab[j];
  }
  return p;
}

template <class Model, class Loss, class Opt, class Dls>
void Learner<Model, Loss, Opt, Dls>::snapshot_buffers() {
  BufferSnapshot& saved = buffer_snapshot_;
  saved.values.clear();
  saved.counts.clear();
  nn::visit_buffers(model_, [&](const std::string&, nn::BufferRefOn<device_type> b) {
    if (b.f32) {
      const std::size_t at = saved.values.size();
      saved.values.resize(at + static_cast<std::size_t>(b.f32->numel()));
      copy_bytes<cpu, device_type>(saved.values.data() + at, b.f32->data(), b.f32->nbytes());
    }
    if (b.count) saved.counts.push_back(*b.count);
  }, std::string{});
}

template <class Model, class Loss, class Opt, class Dls>
void Learner<Model, Loss, Opt, Dls>::restore_buffers(const BufferSnapshot& saved) {
  std::size_t at = 0, k = 0;
  nn::visit_buffers(model_, [&](const std::string&, nn::BufferRefOn<device_type> b) {
    if (b.f32) {
      copy_bytes<device_type, cpu>(b.f32->data(), saved.values.data() + at, b.f32->nbytes());
      at += static_cast<std::size_t>(b.f32->numel());
    }
    if (b.count) *b.count = saved.counts[k++];
  }, std::string{});
}

}  // namespace fastpp
