// Each layer's forward and backward against PyTorch autograd in float64 (tests/fixtures/nn/, made by
// make_layer_fixtures.py).
#include <fastpp/models/state_dict.hpp>
#include <fastpp/nn.hpp>

#include "torch_fixture.hpp"

using namespace fastpp;
using namespace fastpp::nn;
using fastpp::models::load_state_dict;
using fastpp::models::LoadOptions;
using fastpp::models::state_dict;

namespace {

// Loads the layer's state ("p.*"), runs forward and backward, and compares y, dx, every parameter
// gradient ("g.*", PyTorch layout) and every buffer afterwards ("b.*"). `k` is the reduction length of
// the forward's outputs and of the gradients (the longest sum that feeds a compared value).
template <class L>
void check_against_torch(const std::string& name, L& layer, bool train, double k) {
  INFO("fixture " << name);
  const auto st = io::read_safetensors(fixture::dir("nn") + name + ".safetensors");
  LoadOptions strip;
  strip.rename = [](const std::string& key) { return key.rfind("p.", 0) == 0 ? key.substr(2) : std::string{}; };
  load_state_dict(layer, st, strip);  // strict: the file holds exactly the layer's state
  Ctx ctx{train, true, Rng(0), 0};
  const auto x = fixture::tensor(st, "x");
  const auto y = layer.forward(ctx, x);
  fixture::expect_close(y, st, "y", k);
  zero_grad(layer);
  const auto dx = layer.backward(ctx, fixture::tensor(st, "dy"));
  fixture::expect_close(dx, st, "dx", k);
  const auto now = state_dict(layer);
  for (const auto& [key, ref] : st.tensors) {
    if (key.rfind("b.", 0) == 0) {
      INFO("buffer " << key);
      const auto& mine = now.tensors.at(key.substr(2));
      std::vector<float> v(static_cast<std::size_t>(mine.numel()));
      for (std::int64_t i = 0; i < mine.numel(); ++i) v[static_cast<std::size_t>(i)] = static_cast<float>(mine.at(i));
      fixture::expect_close(v.data(), ref, k, key);
    }
  }
  layer.for_each_param([&](const std::string& pname, Param& p) {
    const auto it = st.tensors.find("g." + pname);
    REQUIRE(it != st.tensors.end());
    std::vector<float> g(static_cast<std::size_t>(p.grad.numel()));
    if (p.layout == ParamLayout::conv_ohwi) models::detail::ohwi_to_oihw(p.grad.data(), p.grad.shape(), g.data());
    else std::copy(p.grad.begin(), p.grad.end(), g.begin());
    fixture::expect_close(g.data(), it->second, static_cast<double>(x.numel()), "grad of " + pname);
  });
}

}  // namespace

TEST_CASE("Conv2d matches PyTorch in every option", "[nn][torch]") {
  { Conv2d<5, 6, ConvOpts{.kernel = 3, .stride = 1, .padding = 1}> c; check_against_torch("conv_k3s1p1", c, true, 45); }
  { Conv2d<4, 6, ConvOpts{.kernel = 3, .stride = 2, .padding = 1, .bias = false}> c; check_against_torch("conv_k3s2p1_nobias", c, true, 54); }
  { Conv2d<8, 4, ConvOpts{.kernel = 1}> c; check_against_torch("conv_k1s1", c, true, 8); }
  { Conv2d<4, 8, ConvOpts{.kernel = 1, .stride = 2, .bias = false}> c; check_against_torch("conv_k1s2_nobias", c, true, 8); }
  { Conv2d<3, 4, ConvOpts{.kernel = 7, .stride = 2, .padding = 3, .bias = false}> c; check_against_torch("conv_k7s2p3", c, true, 147); }
  { Conv2d<4, 6, ConvOpts{.kernel = 3, .padding = 2, .dilation = 2, .groups = 2}> c; check_against_torch("conv_d2g2", c, true, 18); }
}

TEST_CASE("BatchNorm2d and BatchNorm1d match PyTorch in train and eval mode", "[nn][torch]") {
  { BatchNorm2d<5> b; check_against_torch("bn2d_train", b, true, 24); }
  { BatchNorm2d<5> b; check_against_torch("bn2d_eval", b, false, 24); }
  { BatchNorm1d<6> b; check_against_torch("bn1d_train", b, true, 4); }
  { BatchNorm1d<6> b; check_against_torch("bn1d_eval", b, false, 4); }
}

TEST_CASE("pools, ReLU, Linear and Flatten match PyTorch", "[nn][torch]") {
  { MaxPool2d<PoolOpts{.kernel = 3, .stride = 2, .padding = 1}> p; check_against_torch("maxpool_k3s2p1", p, true, 9); }
  { AvgPool2d<PoolOpts{.kernel = 3, .stride = 2, .padding = 1}> p; check_against_torch("avgpool_k3s2p1", p, true, 9); }
  { AdaptiveAvgPool2d<1> p; check_against_torch("adaptive_avg_1", p, true, 30); }
  { AdaptiveAvgPool2d<3> p; check_against_torch("adaptive_avg_3", p, true, 12); }
  { AdaptiveMaxPool2d<3> p; check_against_torch("adaptive_max_3", p, true, 12); }
  { AdaptiveConcatPool2d<1> p; check_against_torch("concat_pool_1", p, true, 25); }
  { ReLU r; check_against_torch("relu", r, true, 1); }
  { Linear<7, 5> l; check_against_torch("linear", l, true, 7); }
  { Linear<7, 5, false> l; check_against_torch("linear_nobias", l, true, 7); }
  { Sequential<Flatten, Linear<24, 5>> s; check_against_torch("flatten_linear", s, true, 24); }
}

TEST_CASE("torchvision's BasicBlock and Bottleneck match PyTorch", "[nn][torch]") {
  { BasicBlock<4, 8, 2> b; check_against_torch("basic_block_down_train", b, true, 2 * 72 * 16); }
  { BasicBlock<8, 8, 1> b; check_against_torch("basic_block_eval", b, false, 2 * 72 * 25); }
  { Bottleneck<8, 4, 2> b; check_against_torch("bottleneck_down_train", b, true, 2 * 36 * 9); }
}
