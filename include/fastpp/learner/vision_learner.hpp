#pragma once
// vision_learner<resnet34>(dls, metrics(error_rate)): fastai's vision_learner. The model is the ResNet
// body with fastai's head for dls.c classes (models/resnet.hpp), split into fastai's three parameter
// groups; the loss is the target block's default; with pretrained weights (a torchvision state dict in
// .safetensors, scripts/export_torchvision_weights.py, or a checkpoint that learn.save wrote for the same
// architecture) the body is loaded and the learner frozen, as fastai does when pretrained=True.
//
// any_vision_learner(dls, "resnet34", ...) picks the architecture at run time: the model is type-erased
// at its boundary (models::AnyModel), the learner type is the same for every architecture.
#include <filesystem>
#include <string_view>

#include "../models/any_model.hpp"
#include "../models/resnet.hpp"
#include "checkpoint_file.hpp"
#include "learner.hpp"

namespace fastpp {

struct VisionLearnerOptions {
  // The body's weights: a torchvision state dict, or a fastpp checkpoint of the same architecture (its head is
  // left out: the classes may differ). Empty: random initialisation, not frozen.
  std::filesystem::path weights;
  std::uint64_t seed = 0;         // the model's initialisation
  LearnerOptions learner{};
};

namespace learner_detail {
// A checkpoint (learn.save's file) is told from a torchvision export by its metadata; it is then read through
// load_checkpoint_file, so its checksum is verified before any weight is copied.
template <class L>
void load_body_weights(L& learn, const std::filesystem::path& weights) {
  const io::SafeTensors st = io::read_safetensors(weights);
  const auto format = st.metadata.find("format");
  if (format == st.metadata.end() || format->second != checkpoint_format) {
    models::load_torchvision_body(learn.model(), st);
    return;
  }
  const CheckpointFile f = load_checkpoint_file(weights);
  const std::string& arch = require_meta(f, weights, "arch");
  check<ValueError>(arch == learn.arch(), weights.string(), ": a checkpoint of ", arch, ", not of ", learn.arch(),
                    ": pretrained weights must come from the same architecture");
  io::SafeTensors model;
  for (const auto& [k, t] : f.tensors)
    if (k.rfind("model/", 0) == 0) model.tensors.emplace(k.substr(6), t);
  models::load_fastai_body(learn.model(), model);
}

template <class L>
L&& pretrained(L&& learn, const std::filesystem::path& weights) {
  if (!weights.empty()) {
    load_body_weights(learn, weights);
    learn.freeze();
  }
  return std::forward<L>(learn);
}
}  // namespace learner_detail

template <class Arch, class D = cpu, class T = float, class Dls>
auto vision_learner(Dls dls, std::vector<Metric> metric_list = {}, VisionLearnerOptions o = {}) {
  check<ValueError>(dls.c > 0, "vision_learner: the loaders have no classes (dls.c = ", dls.c, ")");
  auto model = models::make_fastai_model<Arch, D, T>(dls.c, o.seed);
  using Loss = default_loss_t<typename Dls::loader_type::y_block_type, D>;
  Learner<decltype(model), Loss, AdamOn<D>, Dls> learn(std::move(dls), std::move(model), Loss{}, std::move(metric_list),
                                                        std::move(o.learner), AdamOptions{}, Arch::name);
  return learner_detail::pretrained(std::move(learn), o.weights);
}

// The learner type of any_vision_learner for these loaders, device and dtype.
template <class Dls = DataLoaders, class D = cpu, class T = float>
using AnyLearnerOf = Learner<models::AnyModelOn<D, T>, default_loss_t<typename Dls::loader_type::y_block_type, D>,
                             AdamOn<D>, Dls>;
using AnyLearner = AnyLearnerOf<>;

// The architecture by name ("resnet18", "resnet34", "resnet50"); only the listed ones are compiled.
template <class Archs = models::all_resnets, class D = cpu, class T = float, class Dls>
AnyLearnerOf<Dls, D, T> any_vision_learner(Dls dls, std::string_view arch, std::vector<Metric> metric_list = {},
                                           VisionLearnerOptions o = {}) {
  check<ValueError>(dls.c > 0, "any_vision_learner: the loaders have no classes (dls.c = ", dls.c, ")");
  auto model = models::make_model<Archs, D, T>(arch, dls.c, o.seed);
  using L = AnyLearnerOf<Dls, D, T>;
  L learn(std::move(dls), std::move(model), typename L::loss_type{}, std::move(metric_list), std::move(o.learner),
          AdamOptions{}, std::string(arch));
  return learner_detail::pretrained(std::move(learn), o.weights);
}

}  // namespace fastpp
