#pragma once
// The ResNet family with torchvision's structure and parameter names (resnet18/34/50), and fastai's
// vision_learner model: the ResNet body (without pooling and fc) followed by fastai's head, split into
// fastai's three parameter groups.
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "../nn.hpp"
#include "state_dict.hpp"

namespace fastpp::models {

using nn::AdaptiveAvgPool2d;
using nn::AdaptiveConcatPool2d;
using nn::BatchNorm1d;
using nn::BatchNorm2d;
using nn::Conv2d;
using nn::ConvOpts;
using nn::Dropout;
using nn::dyn;
using nn::Flatten;
using nn::Linear;
using nn::MaxPool2d;
using nn::Named;
using nn::PoolOpts;
using nn::ReLU;
using nn::Sequential;

namespace detail {
// torchvision's _make_layer: the first block changes width and stride, the others keep them.
template <template <std::int64_t, std::int64_t, int> class Block, std::int64_t In, std::int64_t Planes, int Stride,
          std::size_t... I>
auto res_layer_of(std::index_sequence<I...>)
    -> Sequential<Block<In, Planes, Stride>, std::conditional_t<(I < 0), void, Block<Planes * nn::expansion<Block>, Planes, 1>>...>;
}  // namespace detail

template <template <std::int64_t, std::int64_t, int> class Block, std::int64_t In, std::int64_t Planes, int Stride,
          std::size_t Blocks>
using ResLayer = decltype(detail::res_layer_of<Block, In, Planes, Stride>(std::make_index_sequence<Blocks - 1>{}));

// An architecture: its body (fastai's create_body: everything before the global pooling) and the
// torchvision classifier with the same layers under their attribute names.
template <template <std::int64_t, std::int64_t, int> class Block, std::size_t L1, std::size_t L2, std::size_t L3,
          std::size_t L4>
struct ResNetArch {
  static constexpr std::int64_t expansion = nn::expansion<Block>;
  static constexpr std::int64_t features = 512 * expansion;  // channels out of the body
  using stem_conv = Conv2d<3, 64, ConvOpts{.kernel = 7, .stride = 2, .padding = 3, .bias = false}>;
  using stem_pool = MaxPool2d<PoolOpts{.kernel = 3, .stride = 2, .padding = 1}>;
  using layer1 = ResLayer<Block, 64, 64, 1, L1>;
  using layer2 = ResLayer<Block, 64 * expansion, 128, 2, L2>;
  using layer3 = ResLayer<Block, 128 * expansion, 256, 2, L3>;
  using layer4 = ResLayer<Block, 256 * expansion, 512, 2, L4>;

  // Children named 0..7 as fastai's nn.Sequential(*list(resnet.children())[:-2]) names them.
  using body = Sequential<stem_conv, BatchNorm2d<64>, ReLU, stem_pool, layer1, layer2, layer3, layer4>;
  // torchvision.models.resnetXX(num_classes = n): the same layers, named as torchvision's attributes.
  using torchvision = Sequential<Named<"conv1", stem_conv>, Named<"bn1", BatchNorm2d<64>>, Named<"relu", ReLU>,
                                 Named<"maxpool", stem_pool>, Named<"layer1", layer1>, Named<"layer2", layer2>,
                                 Named<"layer3", layer3>, Named<"layer4", layer4>,
                                 Named<"avgpool", AdaptiveAvgPool2d<1>>, Named<"flatten", Flatten>,
                                 Named<"fc", Linear<features, dyn>>>;
};

struct resnet18 : ResNetArch<nn::BasicBlock, 2, 2, 2, 2> {
  static constexpr const char* name = "resnet18";
};
struct resnet34 : ResNetArch<nn::BasicBlock, 3, 4, 6, 3> {
  static constexpr const char* name = "resnet34";
};
struct resnet50 : ResNetArch<nn::Bottleneck, 3, 4, 6, 3> {
  static constexpr const char* name = "resnet50";
};

// fastai's create_head(nf, n_out) with its defaults (concat_pool, lin_ftrs [512], ps 0.5 -> [0.25, 0.5],
// first_bn, bn_final False): children 0..8 as fastai's nn.Sequential names them.
template <std::int64_t Features, std::int64_t Hidden = 512>
using FastaiHead = Sequential<AdaptiveConcatPool2d<1>, Flatten, BatchNorm1d<2 * Features>, Dropout<25>,
                              Linear<2 * Features, Hidden, false>, ReLU, BatchNorm1d<Hidden>, Dropout<50>,
                              Linear<Hidden, dyn, false>>;

// vision_learner's model: Sequential(body, head), so names read "0.4.0.conv1.weight", "1.8.weight".
template <class Arch>
using FastaiModel = Sequential<typename Arch::body, FastaiHead<Arch::features>>;

// fastai's apply_init(head, kaiming_normal_): every non-norm layer with a weight gets kaiming_normal_
// (fan_in, gain sqrt(2)) and a zero bias; fastai's BatchNorm helper sets weight 1 and bias 1e-3.
template <class Head>
void init_fastai_head(Head& head, Rng& rng) {
  head.for_each_param([&](const std::string& name, auto& p) {
    const bool is_weight = name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
    std::vector<float> v(static_cast<std::size_t>(p.value.numel()));
    if (p.is_norm) {
      std::fill(v.begin(), v.end(), is_weight ? 1.0f : 1e-3f);
    } else if (is_weight) {
      const auto fan_in = static_cast<double>(p.value.numel() / p.value.shape()[0]);
      const auto stddev = static_cast<float>(std::sqrt(2.0 / fan_in));
      for (auto& x : v) x = rng.normal() * stddev;
    }  // biases: zero
    p.assign(v);
  });
}

// fastai's resnet split: group 0 = body[:6] (stem, layer1, layer2), group 1 = body[6:] (layer3, layer4),
// group 2 = the head. Works on fastai names ("0.5.1.conv1.weight") and torchvision names.
inline int resnet_group_of(const std::string& name) {
  if (name.rfind("1.", 0) == 0 || name.rfind("fc.", 0) == 0) return 2;
  if (name.rfind("layer3.", 0) == 0 || name.rfind("layer4.", 0) == 0) return 1;
  if (name.rfind("0.", 0) == 0) {
    const std::size_t dot = name.find('.', 2);
    const int child = std::stoi(name.substr(2, dot - 2));
    return child < 6 ? 0 : 1;
  }
  return 0;
}
template <class M>
void assign_resnet_groups(M& model) {
  model.for_each_param([](const std::string& name, auto& p) { p.group = resnet_group_of(name); });
}

// A torchvision ResNet classifier with n_classes outputs, torchvision's init, fastai's three groups, on
// device D with activations of dtype T.
template <class Arch, class D = cpu, class T = float>
nn::on_device_t<typename Arch::torchvision, D, T> make_torchvision_resnet(std::int64_t n_classes = 1000,
                                                                        std::uint64_t seed = 0) {
  nn::Build b{Rng(seed), n_classes};
  nn::on_device_t<typename Arch::torchvision, D, T> m(b);
  assign_resnet_groups(m);
  return m;
}

// vision_learner's model for n_classes: torchvision-initialised body, fastai-initialised head, three
// groups, on device D with activations of dtype T.
template <class Arch, class D = cpu, class T = float>
nn::on_device_t<FastaiModel<Arch>, D, T> make_fastai_model(std::int64_t n_classes, std::uint64_t seed = 0) {
  nn::Build b{Rng(seed), n_classes};
  nn::on_device_t<FastaiModel<Arch>, D, T> m(b);
  Rng head_rng = Rng(seed).fork(1);
  init_fastai_head(m.template get<1>(), head_rng);
  assign_resnet_groups(m);
  return m;
}

// torchvision's name for a body parameter -> fastai's ("layer1.0.conv1.weight" -> "0.4.0.conv1.weight");
// "fc.*" and other names outside the body map to "" (not loaded).
inline std::string torchvision_to_fastai_name(const std::string& name) {
  static const std::pair<const char*, const char*> map[] = {{"conv1.", "0.0."},  {"bn1.", "0.1."},
                                                            {"layer1.", "0.4."}, {"layer2.", "0.5."},
                                                            {"layer3.", "0.6."}, {"layer4.", "0.7."}};
  for (const auto& [tv, fa] : map) {
    const std::string prefix = tv;
    if (name.rfind(prefix, 0) == 0) return std::string(fa).append(name, prefix.size(), std::string::npos);
  }
  return {};
}

// Loads a state dict into a fastai model's body (names "0.*" once `rename` has mapped them): every body key
// must be present; the head keeps its initialisation. `what` names the caller in the error.
template <class Model>
LoadReport load_body(Model& model, const io::SafeTensors& st, std::function<std::string(const std::string&)> rename,
                     const char* what) {
  LoadOptions opt;
  opt.strict = false;
  opt.rename = std::move(rename);
  auto r = load_state_dict(model, st, opt);
  std::string missing;
  for (const auto& k : r.missing)
    if (k.rfind("0.", 0) == 0) missing.append(" ").append(k);
  nn::require<ValueError>(missing.empty(), what, ": the file lacks body keys:", missing);
  return r;
}

// A torchvision state dict (e.g. from scripts/export_torchvision_weights.py) into a fastai model's body.
template <class Model>
LoadReport load_torchvision_body(Model& model, const io::SafeTensors& st) {
  return load_body(model, st, torchvision_to_fastai_name, "load_torchvision_body");
}

// A fastai model's own state dict (fastai names) into another's body: the head ("1.*"), sized for other
// classes, is left out.
template <class Model>
LoadReport load_fastai_body(Model& model, const io::SafeTensors& st) {
  return load_body(model, st, [](const std::string& n) { return n.rfind("0.", 0) == 0 ? n : std::string(); },
                   "load_fastai_body");
}

}  // namespace fastpp::models
