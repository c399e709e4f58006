#pragma once
// Learner checkpoints: learn.save(name) / learn.load(name), a .safetensors file (checkpoint_file.hpp,
// written atomically) under path()/model_dir. It holds everything a resumed fit needs to continue bit for
// bit as if it had never stopped:
//   model/<name>          weights and BatchNorm buffers (PyTorch names and layouts, F32 / I64)
//   opt/<name>            optimizer state tensors (Adam's grad_avg, sqr_avg), opt_counter/<name> its counts
//   opt_hypers            per group: lr, mom, sqr_mom, eps, wd
//   frozen                per parameter: frozen (fastai's freeze_to state)
//   loader_epochs         the train and valid loaders' epoch counters (their shuffles and augmentation)
//   epochs_done, seed     the fit's position and Dropout's seed
//   recorder/...          lrs, moms, losses, values, iters and the smoothed loss's state
// and, in the metadata, the architecture, optimizer, device, dtype and vocabulary, which must match the
// learner that loads it. load() reads and checks the whole file before it changes anything: a damaged or
// mismatched checkpoint is refused with an error naming the file and the fault, and the learner is left
// exactly as it was.
// Included at the end of learner.hpp, which declares what is defined here.

namespace fastpp {

namespace learner_detail {
template <class D>
io::StTensor st_of(const Tensor<float, D>& t) {
  std::vector<float> host(static_cast<std::size_t>(t.numel()));
  copy_bytes<cpu, D>(host.data(), t.data(), t.nbytes());
  std::vector<std::int64_t> shape;
  for (int i = 0; i < t.rank(); ++i) shape.push_back(t.shape()[i]);
  return io::StTensor::from_floats(host.data(), std::move(shape));
}
inline std::vector<std::int64_t> dims_of(const Shape& s) {
  std::vector<std::int64_t> v;
  for (int i = 0; i < s.rank(); ++i) v.push_back(s[i]);
  return v;
}
[[noreturn]] inline void mismatch(const std::filesystem::path& origin, const std::string& what) {
  throw FormatError(origin.string(), "checkpoint does not fit this learner: " + what);
}
}  // namespace learner_detail

template <class Model, class Loss, class Opt, class Dls>
CheckpointFile Learner<Model, Loss, Opt, Dls>::checkpoint() {
  CheckpointFile f;
  f.meta["kind"] = "learner";
  f.meta["arch"] = arch_;
  f.meta["optimizer"] = Opt::name;
  f.meta["device"] = std::string(device_name<device_type>);
  f.meta["dtype"] = std::string(dtype_name<value_type>());
  f.meta["vocab.count"] = std::to_string(dls_.vocab.size());
  for (std::int64_t i = 0; i < dls_.vocab.size(); ++i) f.meta["vocab." + std::to_string(i)] = dls_.vocab[i];
  for (auto& [k, t] : models::state_dict(model_).tensors) f.tensors.emplace("model/" + k, std::move(t));
  Opt& o = opt();
  o.for_each_state([&](const std::string& n, Tensor<float, device_type>& t) { f.tensors.emplace("opt/" + n, learner_detail::st_of(t)); });
  o.for_each_counter([&](const std::string& n, std::int64_t& c) { put_i64(f, "opt_counter/" + n, c); });
  std::vector<double> h;
  for (const auto& g : o.hypers()) h.insert(h.end(), {g.lr, g.mom, g.sqr_mom, g.eps, g.wd});
  put_f64s(f, "opt_hypers", h);
  std::vector<std::int64_t> frozen;
  model_.for_each_param([&](const std::string&, nn::ParamOn<device_type>& p) { frozen.push_back(p.frozen ? 1 : 0); });
  put_i64s(f, "frozen", frozen);
  put_u64s(f, "loader_epochs", {dls_.train.epoch(), dls_.valid.epoch()});
  put_i64(f, "epochs_done", epochs_done_);
  put_u64(f, "seed", opts_.seed);
  const Recorder& r = *recorder_;
  put_f64s(f, "recorder/lrs", r.lrs);
  put_f64s(f, "recorder/moms", r.moms);
  put_f64s(f, "recorder/losses", r.losses);
  std::vector<double> values;
  for (const auto& row : r.values) values.insert(values.end(), row.begin(), row.end());
  put_f64s(f, "recorder/values", values);
  std::vector<std::int64_t> row_sizes;
  for (const auto& row : r.values) row_sizes.push_back(static_cast<std::int64_t>(row.size()));
  put_i64s(f, "recorder/value_rows", row_sizes);
  put_i64s(f, "recorder/iters", r.iters);
  put_f64s(f, "recorder/smooth", {r.smooth.val, static_cast<double>(r.smooth.count)});
  if (scaler_) {
    const auto st = scaler_->state();
    put_f64(f, "loss_scaler/scale", st.scale);
    put_i64s(f, "loss_scaler/counts", {st.growth_tracker, st.skipped});
  }
  return f;
}

template <class Model, class Loss, class Opt, class Dls>
std::filesystem::path Learner<Model, Loss, Opt, Dls>::save(const std::string& name) {
  const auto path = checkpoint_path(name);
  // In a data-parallel run the processes hold the same weights: rank 0 writes, the others wait for the
  // file to be complete, so a load() right after finds it.
  if (is_main_process()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) throw IoError(path.parent_path().string(), "save: cannot create the folder: " + ec.message());
    save_checkpoint_file(path, checkpoint());
  }
  if (group_) group_->barrier();
  return path;
}

template <class Model, class Loss, class Opt, class Dls>
void Learner<Model, Loss, Opt, Dls>::check_checkpoint(const CheckpointFile& f, const std::filesystem::path& origin,
                                                     Opt& fresh) {
  using learner_detail::mismatch;
  auto same = [&](const char* key, const std::string& want) {
    const std::string& got = require_meta(f, origin, key);
    if (got != want) mismatch(origin, std::string(key) + " is \"" + got + "\" in the file, \"" + want + "\" here");
  };
  if (require_meta(f, origin, "kind") != "learner") mismatch(origin, "it is not a learner checkpoint");
  same("arch", arch_);
  same("optimizer", Opt::name);
  same("device", std::string(device_name<device_type>));
  same("dtype", std::string(dtype_name<value_type>()));
  same("vocab.count", std::to_string(dls_.vocab.size()));
  for (std::int64_t i = 0; i < dls_.vocab.size(); ++i)
    same(("vocab." + std::to_string(i)).c_str(), dls_.vocab[i]);
  // Every model tensor with its PyTorch shape, and no model tensor the model lacks.
  std::size_t model_keys = 0;
  models::detail::visit_state(model_, [&](const std::string& n, nn::ParamOn<device_type>* p, nn::BufferRefOn<device_type> b) {
    ++model_keys;
    if (b.count) require_tensor(f, origin, "model/" + n, io::StDtype::I64, {});
    else require_tensor(f, origin, "model/" + n, io::StDtype::F32,
                        models::detail::torch_shape(p ? p->value.shape() : b.f32->shape(), p ? p->layout : nn::ParamLayout::plain));
  });
  std::size_t in_file = 0;
  for (const auto& [k, t] : f.tensors) in_file += k.rfind("model/", 0) == 0;
  if (in_file != model_keys) mismatch(origin, std::to_string(in_file) + " model tensors in the file, " + std::to_string(model_keys) + " in the model");
  fresh.for_each_state([&](const std::string& n, Tensor<float, device_type>& t) {
    require_tensor(f, origin, "opt/" + n, io::StDtype::F32, learner_detail::dims_of(t.shape()));
  });
  fresh.for_each_counter([&](const std::string& n, std::int64_t&) { get_i64(f, origin, "opt_counter/" + n); });
  if (get_f64s(f, origin, "opt_hypers").size() != 5 * static_cast<std::size_t>(fresh.n_groups()))
    mismatch(origin, "opt_hypers is not 5 values for each of the " + std::to_string(fresh.n_groups()) + " groups");
  if (get_i64s(f, origin, "frozen").size() != fresh.params().size())
    mismatch(origin, "frozen flags for another number of parameters");
  if (get_u64s(f, origin, "loader_epochs").size() != 2) mismatch(origin, "loader_epochs is not 2 values");
  get_i64(f, origin, "epochs_done");
  get_u64(f, origin, "seed");
  for (const char* k : {"recorder/lrs", "recorder/moms", "recorder/losses", "recorder/values"}) get_f64s(f, origin, k);
  get_i64s(f, origin, "recorder/iters");
  std::int64_t cells = 0;
  for (auto n : get_i64s(f, origin, "recorder/value_rows")) {
    if (n < 0) mismatch(origin, "a negative row length in recorder/value_rows");
    cells += n;
  }
  if (static_cast<std::size_t>(cells) != get_f64s(f, origin, "recorder/values").size())
    mismatch(origin, "recorder/values does not fill recorder/value_rows");
  if (get_f64s(f, origin, "recorder/smooth").size() != 2) mismatch(origin, "recorder/smooth is not 2 values");
  // The loss scaler's state, when both the file and this learner use mixed precision (a float learner
  // loads an fp16 checkpoint's weights and ignores it; an fp16 learner loading a float one keeps its own).
  if (scaler_ && f.tensors.count("loss_scaler/scale")) {
    const auto counts = get_i64s(f, origin, "loss_scaler/counts");
    if (counts.size() != 2) mismatch(origin, "loss_scaler/counts is not 2 values");
    try {
      scaler_->check_state({get_f64(f, origin, "loss_scaler/scale"), counts[0], counts[1]});
    } catch (const ValueError& e) {
      mismatch(origin, e.what());
    }
  }
}

template <class Model, class Loss, class Opt, class Dls>
void Learner<Model, Loss, Opt, Dls>::apply_checkpoint(const CheckpointFile& f, const std::filesystem::path& origin,
                                                     Opt& fresh) {
  io::SafeTensors weights;
  for (const auto& [k, t] : f.tensors)
    if (k.rfind("model/", 0) == 0) weights.tensors.emplace(k.substr(6), t);
  models::load_state_dict(model_, weights);
  fresh.for_each_state([&](const std::string& n, Tensor<float, device_type>& t) {
    const io::StTensor& s = f.tensors.at("opt/" + n);
    copy_bytes<device_type, cpu>(t.data(), s.bytes.data(), t.nbytes());
  });
  fresh.for_each_counter([&](const std::string& n, std::int64_t& c) { c = get_i64(f, origin, "opt_counter/" + n); });
  const auto h = get_f64s(f, origin, "opt_hypers");
  for (std::size_t g = 0; g < fresh.hypers().size(); ++g) {
    auto& x = fresh.hypers()[g];
    x.lr = h[5 * g], x.mom = h[5 * g + 1], x.sqr_mom = h[5 * g + 2], x.eps = h[5 * g + 3], x.wd = h[5 * g + 4];
  }
  const auto frozen = get_i64s(f, origin, "frozen");
  std::size_t i = 0;
  model_.for_each_param([&](const std::string&, nn::ParamOn<device_type>& p) {
    p.frozen = frozen[i++] != 0;
    p.train_bn = opts_.train_bn;
  });
  const auto epochs = get_u64s(f, origin, "loader_epochs");
  dls_.train.set_epoch(epochs[0]);
  dls_.valid.set_epoch(epochs[1]);
  epochs_done_ = static_cast<int>(get_i64(f, origin, "epochs_done"));
  opts_.seed = get_u64(f, origin, "seed");
  Recorder& r = *recorder_;
  r.lrs = get_f64s(f, origin, "recorder/lrs");
  r.moms = get_f64s(f, origin, "recorder/moms");
  r.losses = get_f64s(f, origin, "recorder/losses");
  r.iters = get_i64s(f, origin, "recorder/iters");
  const auto values = get_f64s(f, origin, "recorder/values");
  r.values.clear();
  std::size_t at = 0;
  for (auto n : get_i64s(f, origin, "recorder/value_rows")) {
    r.values.emplace_back(values.begin() + static_cast<std::ptrdiff_t>(at), values.begin() + static_cast<std::ptrdiff_t>(at + static_cast<std::size_t>(n)));
    at += static_cast<std::size_t>(n);
  }
  const auto smooth = get_f64s(f, origin, "recorder/smooth");
  r.smooth.val = smooth[0];
  r.smooth.count = static_cast<std::int64_t>(smooth[1]);
  if (scaler_ && f.tensors.count("loss_scaler/scale")) {
    const auto counts = get_i64s(f, origin, "loss_scaler/counts");
    scaler_->set_state({get_f64(f, origin, "loss_scaler/scale"), counts[0], counts[1]});
  }
  if (half_) half_->capture_masters(model_);  // the loaded weights are the new masters
  opt_.emplace(std::move(fresh));
}

template <class Model, class Loss, class Opt, class Dls>
void Learner<Model, Loss, Opt, Dls>::load(const std::string& name) {
  const auto path = checkpoint_path(name);
  const CheckpointFile f = load_checkpoint_file(path);
  Opt fresh(named_params(model_), opt_options_);
  check_checkpoint(f, path, fresh);
  apply_checkpoint(f, path, fresh);
}

}  // namespace fastpp
