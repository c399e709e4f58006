#pragma once
// export_learner(learn, file) and load_learner(file): fastai's learn.export() and load_learner(). The
// export is ONE self-describing file that a separate program turns into predictions without the data,
// the DataBlock or the training code:
//
//   fastpp::export_learner(learn, "pets.fpp");                          // after training
//
//   auto learn = fastpp::load_learner<fastpp::models::archs<fastpp::models::resnet34>>("pets.fpp");
//   auto p = learn.predict("cat.jpg");                                  // p.label, p.index, p.probs
//
// The file is a checkpoint file (checkpoint_file.hpp: safetensors, written atomically, checksummed) whose
// metadata says kind = "export" and holds
//   arch                     the architecture's name, rebuilt with models::make_model (so "custom" models,
//                            given to a Learner by hand, cannot be exported)
//   n_classes, vocab.*       the classes, in the model's output order
//   load                     the image decoder: "load_image" (ImageBlock's default) or "load_netpbm"
//   decode.*                 with load_image, the ImageBlock's DecodeOptions: alpha ("drop" or
//                            "composite R,G,B"), jpeg ("automatic" or "stb"), max_pixels, max_side,
//                            max_file_bytes, min_size ("HxW", when JPEGs were decoded at reduced scale
//                            for Resize) (an export without them decodes with the defaults)
//   item_tfms.*, batch_tfms.*  the validation pipeline, one TransformSpec line per step
//                            (vision/transform_spec.hpp), in the order the valid loader runs them
//   activation (+ thresh)    "softmax" (single label) or "sigmoid" with the threshold (multi-label)
// and the weights and BatchNorm buffers as tensors "model/<PyTorch name>" (models/state_dict.hpp). A
// transform without a spec() makes export_learner fail with an error naming the transform.
//
// load_learner<Archs> compiles only the architectures listed (make_model's rule: each ResNet costs tens of
// seconds of compile time) and refuses, with an error naming the file and the fault: a missing or damaged
// file, a training checkpoint (learn.save) instead of an export, an architecture not in Archs, weights that
// do not fit it, and a transform it cannot rebuild.
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "../data/collate.hpp"
#include "../data/dataloader.hpp"
#include "../data/image_block.hpp"
#include "../data/pipeline.hpp"
#include "../loss/binary.hpp"
#include "../loss/flat_losses.hpp"
#include "../loss/softmax.hpp"
#include "../models/any_model.hpp"
#include "../models/state_dict.hpp"
#include "../vision/augment.hpp"
#include "../vision/item_transforms.hpp"
#include "../vision/netpbm.hpp"
#include "../vision/transform_spec.hpp"
#include "checkpoint_file.hpp"
#include "learner.hpp"

namespace fastpp {

inline constexpr std::string_view export_kind = "export";

namespace export_detail {

// The decoders an export can name, by the name written in the file.
inline const char* loader_name(const ImageLoader& load) {
  using Fn = Image (*)(const std::filesystem::path&);
  const Fn* f = load.target<Fn>();
  if (f != nullptr && *f == &default_image_loader) return "load_image";
  if (f != nullptr && *f == &load_netpbm) return "load_netpbm";
  return nullptr;
}
inline ImageLoader loader_of(const std::string& name) {
  if (name == "load_image") return default_image_loader;
  if (name == "load_netpbm") return load_netpbm;
  return nullptr;
}

template <class Step>
std::vector<std::string> specs_of(const std::vector<Step>& steps, const char* kind, const std::string& file) {
  std::vector<std::string> specs;
  for (const Step& s : steps) {
    check(!s.spec.empty(), "export_learner (", file, "): the validation ", kind, " transform '", s.name,
          "' cannot be exported: it has no spec() describing it as text (see vision/transform_spec.hpp; "
          "exportable: Resize, RandomResizedCrop, aug_transforms, Normalize)");
    specs.push_back(s.spec);
  }
  return specs;
}

inline void put_list(CheckpointFile& f, const std::string& key, const std::vector<std::string>& values) {
  f.meta[key + ".count"] = std::to_string(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) f.meta[key + "." + std::to_string(i)] = values[i];
}

[[noreturn]] inline void refuse(const std::filesystem::path& file, const std::string& what) {
  throw FormatError(file.string(), "load_learner: " + what);
}

inline std::int64_t count_of(const CheckpointFile& f, const std::filesystem::path& file, const std::string& key) {
  const std::string& text = require_meta(f, file, key);
  std::int64_t n = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n < 0)
    refuse(file, "metadata \"" + key + "\" is \"" + text + "\", not a count");
  return n;
}
// The DecodeOptions a learner's ImageBlock used, so the predictor decodes (alpha above all) as training did.
inline void put_decode(CheckpointFile& f, const DecodeOptions& d) {
  f.meta["decode.alpha"] = d.alpha.mode == AlphaPolicy::Mode::drop
                               ? std::string("drop")
                               : "composite " + std::to_string(d.alpha.background.r) + "," +
                                     std::to_string(d.alpha.background.g) + "," + std::to_string(d.alpha.background.b);
  f.meta["decode.jpeg"] = d.jpeg == JpegDecoder::stb ? "stb" : "automatic";
  f.meta["decode.max_pixels"] = std::to_string(d.limits.max_pixels);
  f.meta["decode.max_side"] = std::to_string(d.limits.max_side);
  f.meta["decode.max_file_bytes"] = std::to_string(d.limits.max_file_bytes);
  if (!d.min_size.empty())  // JPEGs decoded at reduced scale for presizing: the predictor does the same
    f.meta["decode.min_size"] = std::to_string(d.min_size.height) + "x" + std::to_string(d.min_size.width);
}
inline DecodeOptions decode_of(const CheckpointFile& f, const std::filesystem::path& file) {
  DecodeOptions d;
  if (!f.meta.contains("decode.alpha")) return d;  // written before decode options were exported
  const std::string& alpha = require_meta(f, file, "decode.alpha");
  if (alpha.rfind("composite ", 0) == 0) {
    int rgb[3] = {-1, -1, -1};
    const char* p = alpha.data() + 10;
    const char* const end = alpha.data() + alpha.size();
    for (int i = 0; i < 3; ++i) {
      const auto r = std::from_chars(p, end, rgb[i]);
      p = r.ptr;
      if (r.ec != std::errc{} || rgb[i] < 0 || rgb[i] > 255 || (i < 2 ? (p == end || *p++ != ',') : p != end))
        refuse(file, "metadata \"decode.alpha\" is \"" + alpha + "\", not \"composite R,G,B\" with 0-255 values");
    }
    d.alpha = AlphaPolicy::composite_onto(
        {static_cast<std::uint8_t>(rgb[0]), static_cast<std::uint8_t>(rgb[1]), static_cast<std::uint8_t>(rgb[2])});
  } else if (alpha != "drop") {
    refuse(file, "metadata \"decode.alpha\" is \"" + alpha + "\", neither \"drop\" nor \"composite R,G,B\"");
  }
  const std::string& jpeg = require_meta(f, file, "decode.jpeg");
  if (jpeg != "automatic" && jpeg != "stb") refuse(file, "metadata \"decode.jpeg\" is \"" + jpeg + "\"");
  d.jpeg = jpeg == "stb" ? JpegDecoder::stb : JpegDecoder::automatic;
  d.limits.max_pixels = count_of(f, file, "decode.max_pixels");
  d.limits.max_side = count_of(f, file, "decode.max_side");
  d.limits.max_file_bytes = count_of(f, file, "decode.max_file_bytes");
  if (f.meta.contains("decode.min_size")) {  // absent: full-size decodes (exports before DCT scaling too)
    const std::string& ms = f.meta.at("decode.min_size");
    std::int64_t hw[2] = {-1, -1};
    const char* p = ms.data();
    const char* const end = ms.data() + ms.size();
    for (int i = 0; i < 2; ++i) {
      const auto r = std::from_chars(p, end, hw[i]);
      p = r.ptr;
      if (r.ec != std::errc{} || hw[i] < 0 || (i == 0 ? (p == end || *p++ != 'x') : p != end))
        refuse(file, "metadata \"decode.min_size\" is \"" + ms + "\", not \"HxW\" with counts");
    }
    d.min_size = {hw[0], hw[1]};
  }
  return d;
}

inline std::vector<std::string> get_list(const CheckpointFile& f, const std::filesystem::path& file,
                                         const std::string& key) {
  const std::int64_t n = count_of(f, file, key + ".count");
  std::vector<std::string> out;
  for (std::int64_t i = 0; i < n; ++i) out.push_back(require_meta(f, file, key + "." + std::to_string(i)));
  return out;
}

// One step rebuilt from its spec, as the DataBlock would have made it from the transform.
inline ItemStep item_step_of(const std::string& text) {
  const TransformSpec s = TransformSpec::parse(text);
  std::vector<ItemStep> out;
  if (s.type == "Resize") detail::append_item_steps<Image>(out, Resize::from_spec(s));
  else if (s.type == "RandomResizedCrop") detail::append_item_steps<Image>(out, RandomResizedCrop::from_spec(s));
  else throw ValueError("no item transform \"" + s.type + "\" in this build (it rebuilds Resize and RandomResizedCrop)");
  return std::move(out.front());
}
inline BatchStep batch_step_of(const std::string& text) {
  const TransformSpec s = TransformSpec::parse(text);
  std::vector<BatchStep> out;
  using X = Tensor<float, cpu>;
  if (s.type == "AffineCoordTfm") detail::append_batch_steps<X>(out, AffineCoordTfm::from_spec(s));
  else if (s.type == "LightingTfm") detail::append_batch_steps<X>(out, LightingTfm::from_spec(s));
  else if (s.type == "Normalize") detail::append_batch_steps<X>(out, Normalize::from_spec(s));
  else throw ValueError("no batch transform \"" + s.type + "\" in this build (it rebuilds AffineCoordTfm, "
                        "LightingTfm and Normalize)");
  return std::move(out.front());
}

}  // namespace export_detail

// Writes `learn` as an export (see the top of this file). The learner must classify image files through
// an ImageBlock with fastpp's decoder, have been built by architecture name (vision_learner<Arch> or
// any_vision_learner) and use exportable validation transforms; otherwise nothing is written and the
// error says which of these fails.
template <class Learn>
void export_learner(Learn& learn, const std::filesystem::path& file) {
  using loader_type = typename Learn::loader_type;
  using loss_type = typename Learn::loss_type;
  static_assert(std::is_same_v<typename loader_type::x_block_type, ImageBlock> &&
                    std::is_same_v<typename loader_type::item_type, std::filesystem::path>,
                "export_learner: an export predicts on image files, so the learner's loaders must take paths "
                "through an ImageBlock (blocks<ImageBlock, CategoryBlock> or <ImageBlock, MultiCategoryBlock>)");
  static_assert(requires { loss_type::softmax_kind; },
                "export_learner: the loss must be one of fastai's flat losses (CrossEntropyLossFlat, "
                "LabelSmoothingCrossEntropy, BCEWithLogitsLossFlat), whose activation the export records");
  const std::string where = file.string();
  check(learn.arch() != "custom", "export_learner (", where, "): the learner's model is \"custom\" (given to a "
        "Learner by hand), but an export is rebuilt by architecture name through models::make_model: build the "
        "learner with vision_learner<resnet34>(dls) or any_vision_learner(dls, \"resnet34\")");
  auto& dls = learn.dls();
  const auto& valid = dls.valid;
  const char* load = export_detail::loader_name(valid.x_block().load);
  check(load != nullptr, "export_learner (", where, "): the ImageBlock decodes with a function of your own; an "
        "export can only name fastpp's decoders (default_image_loader, load_netpbm)");
  check(dls.c > 0 && static_cast<std::int64_t>(dls.vocab.size()) == dls.c, "export_learner (", where,
        "): the loaders have ", dls.c, " classes but a vocabulary of ", dls.vocab.size());

  CheckpointFile f;
  f.meta["kind"] = std::string(export_kind);
  f.meta["arch"] = learn.arch();
  f.meta["n_classes"] = std::to_string(dls.c);
  std::vector<std::string> vocab;
  for (std::int64_t i = 0; i < dls.vocab.size(); ++i) vocab.push_back(dls.vocab[i]);
  export_detail::put_list(f, "vocab", vocab);
  f.meta["load"] = load;
  if (std::string_view(load) == "load_image") export_detail::put_decode(f, valid.x_block().decode);
  export_detail::put_list(f, "item_tfms", export_detail::specs_of(valid.item_steps(), "item", where));
  export_detail::put_list(f, "batch_tfms", export_detail::specs_of(valid.batch_steps(), "batch", where));
  if constexpr (loss_type::softmax_kind) {
    f.meta["activation"] = "softmax";
  } else {
    f.meta["activation"] = "sigmoid";
    put_f64(f, "thresh", learn.loss_func().thresh);
  }
  for (auto& [k, t] : models::state_dict(learn.model()).tensors) f.tensors.emplace("model/" + k, std::move(t));
  save_checkpoint_file(file, f);
}

// An exported learner, loaded: the model (cpu, float32), the vocabulary and the validation pipeline.
class Predictor {
 public:
  Predictor(models::AnyModel model, std::vector<std::string> vocab, ImageLoader load, std::string load_name,
            std::vector<ItemStep> item_steps, std::vector<BatchStep> batch_steps, bool softmax, double thresh)
      : model_(std::move(model)), vocab_(std::move(vocab)), load_(std::move(load)), load_name_(std::move(load_name)),
        item_steps_(std::move(item_steps)), batch_steps_(std::move(batch_steps)), softmax_(softmax), thresh_(thresh) {}

  // One image file through the validation pipeline and the model: the same numbers as the exporting
  // Learner's predict(file) (what tests/export checks).
  Prediction predict(const std::filesystem::path& image) {
    nn::Ctx ctx = nn::Ctx::eval();
    const Tensor<float, cpu> logits = model_.forward(ctx, inputs(image));
    const Tensor<float, cpu> probs =
        softmax_ ? softmax(loss_detail::flatten_rows("Predictor::predict", logits)) : sigmoid(logits);
    Prediction p;
    p.probs.assign(probs.data(), probs.data() + probs.numel());
    const auto n = static_cast<std::int64_t>(vocab_.size());
    if (softmax_) {
      p.index = 0;
      for (std::int64_t j = 1; j < probs.numel(); ++j)
        if (probs.data()[j] > probs.data()[p.index]) p.index = j;
      if (p.index < n) p.label = vocab_[static_cast<std::size_t>(p.index)];
    } else {
      for (std::int64_t j = 0; j < probs.numel(); ++j)
        if (probs.data()[j] > thresh_ && j < n) p.label += (p.label.empty() ? "" : ";") + vocab_[static_cast<std::size_t>(j)];
    }
    return p;
  }

  // The model's input for an image file: a batch of one, NHWC float, after the validation pipeline (the
  // same as the exporting learner's dls().valid.inputs({file})). Errors name the file and the step.
  Tensor<float, cpu> inputs(const std::filesystem::path& image) const {
    const std::string name = image.string();
    Image x = [&] {
      try {
        return load_(image);
      } catch (const std::exception& e) {
        detail::rethrow_for_item(name, load_name_, e);
      }
    }();
    ItemContext ictx{Split::valid, Rng(0), 0};
    for (const auto& s : item_steps_) {
      try {
        x = s.fn(std::move(x), ictx);
      } catch (const std::exception& e) {
        throw ItemError(name, s.name, e.what());
      }
    }
    Tensor<float, cpu> batch = IntToFloat{}(collate_images({x}, {image}));
    BatchContext bctx;
    bctx.split = Split::valid;
    for (const auto& s : batch_steps_) {
      try {
        batch = s.fn(std::move(batch), bctx);
      } catch (const std::exception& e) {
        throw ItemError(name, s.name, e.what());
      }
    }
    return batch;
  }

  const std::string& arch() const { return model_.name(); }
  const std::vector<std::string>& vocab() const { return vocab_; }
  models::AnyModel& model() { return model_; }
  const std::vector<ItemStep>& item_steps() const { return item_steps_; }
  const std::vector<BatchStep>& batch_steps() const { return batch_steps_; }
  // "load_image -> Resize -- {...} -> IntToFloat -- {...} -> Normalize -- {...}": what predict runs.
  std::string pipeline() const {
    std::string s = load_name_;
    for (const auto& st : item_steps_) s += " -> " + st.name;
    s += " -> " + IntToFloat{}.name();
    for (const auto& st : batch_steps_) s += " -> " + st.name;
    return s;
  }

 private:
  models::AnyModel model_;
  std::vector<std::string> vocab_;
  ImageLoader load_;
  std::string load_name_;
  std::vector<ItemStep> item_steps_;
  std::vector<BatchStep> batch_steps_;
  bool softmax_ = true;
  double thresh_ = 0.5;
};

// Reads an export written by export_learner. Archs lists the architectures this program can rebuild
// (models::archs<resnet18, resnet34>; all three ResNets by default).
template <class Archs = models::all_resnets>
Predictor load_learner(const std::filesystem::path& file) {
  using export_detail::refuse;
  const CheckpointFile f = load_checkpoint_file(file);  // missing, damaged, not a checkpoint: refused here
  const std::string& kind = require_meta(f, file, "kind");
  if (kind != export_kind)
    refuse(file, "this is a checkpoint of kind \"" + kind + "\", not an export" +
                     (kind == "learner" ? " (learn.save writes training checkpoints; load them with learn.load, and "
                                          "write an export with export_learner(learn, file))"
                                        : ""));
  const std::string& arch = require_meta(f, file, "arch");
  const std::int64_t n_classes = export_detail::count_of(f, file, "n_classes");
  std::vector<std::string> vocab = export_detail::get_list(f, file, "vocab");
  if (n_classes == 0 || static_cast<std::int64_t>(vocab.size()) != n_classes)
    refuse(file, std::to_string(n_classes) + " classes but a vocabulary of " + std::to_string(vocab.size()));
  const std::string& load_name = require_meta(f, file, "load");
  ImageLoader load = export_detail::loader_of(load_name);
  if (!load) refuse(file, "unknown image decoder \"" + load_name + "\" (this build has load_image and load_netpbm)");
  if (load_name == "load_image") {
    const DecodeOptions decode = export_detail::decode_of(f, file);
    if (!(decode == DecodeOptions{})) load = [decode](const std::filesystem::path& p) { return load_image(p, decode); };
  }
  std::vector<ItemStep> item_steps;
  std::vector<BatchStep> batch_steps;
  const auto item_specs = export_detail::get_list(f, file, "item_tfms");
  const auto batch_specs = export_detail::get_list(f, file, "batch_tfms");
  for (std::size_t i = 0; i < item_specs.size(); ++i) {
    try {
      item_steps.push_back(export_detail::item_step_of(item_specs[i]));
    } catch (const ValueError& e) {
      refuse(file, "cannot rebuild item transform " + std::to_string(i) + ": " + e.what());
    }
  }
  for (std::size_t i = 0; i < batch_specs.size(); ++i) {
    try {
      batch_steps.push_back(export_detail::batch_step_of(batch_specs[i]));
    } catch (const ValueError& e) {
      refuse(file, "cannot rebuild batch transform " + std::to_string(i) + ": " + e.what());
    }
  }
  const std::string& activation = require_meta(f, file, "activation");
  if (activation != "softmax" && activation != "sigmoid")
    refuse(file, "activation \"" + activation + "\" is neither softmax nor sigmoid");
  const double thresh = activation == "sigmoid" ? get_f64(f, file, "thresh") : 0.5;

  models::AnyModel model = [&] {
    try {
      return models::make_model<Archs>(arch, n_classes);
    } catch (const ValueError& e) {
      refuse(file, std::string(e.what()) + " (list it in load_learner<models::archs<...>>)");
    }
  }();
  io::SafeTensors weights;
  for (const auto& [k, t] : f.tensors)
    if (k.rfind("model/", 0) == 0) weights.tensors.emplace(k.substr(6), t);
  try {
    models::load_state_dict(model, weights);
  } catch (const ValueError& e) {
    refuse(file, "the weights do not fit " + arch + " with " + std::to_string(n_classes) + " classes: " + e.what());
  }
  return Predictor(std::move(model), std::move(vocab), std::move(load), load_name, std::move(item_steps),
                   std::move(batch_steps), activation == "softmax", thresh);
}

}  // namespace fastpp
