// fastai's vision_learner model: head, init, groups, freezing; torchvision weights into the body.
#include <fastpp/core/ops.hpp>
#include <fastpp/models.hpp>

#include "formula.hpp"

using namespace fastpp;
using namespace fastpp::models;
using formula_fixture::formula_input;

TEST_CASE("fastai's vision_learner model: head, names, init and three parameter groups", "[models]") {
  auto m = make_fastai_model<resnet34>(37, 1);
  std::map<std::string, nn::Param*> params;
  m.for_each_param([&](const std::string& n, nn::Param& p) { params[n] = &p; });
  // fastai's head for resnet34: BN1d(1024), Linear(1024, 512, no bias), BN1d(512), Linear(512, 37, no bias)
  CHECK(params.at("1.2.weight")->value.shape() == Shape{1024});
  CHECK(params.at("1.4.weight")->value.shape() == Shape{512, 1024});
  CHECK(params.count("1.4.bias") == 0);
  CHECK(params.at("1.6.weight")->value.shape() == Shape{512});
  CHECK(params.at("1.8.weight")->value.shape() == Shape{37, 512});
  CHECK(params.count("1.8.bias") == 0);
  CHECK(params.count("0.4.0.conv1.weight") == 1);
  CHECK(params.at("1.2.bias")->value.data()[0] == Approx(1e-3f));  // fastai's BatchNorm init
  CHECK(params.at("1.2.weight")->value.data()[0] == 1.0f);
  // kaiming_normal_ (fan_in) on the head's linears: std sqrt(2/1024)
  double ss = 0;
  for (float v : params.at("1.4.weight")->value) ss += static_cast<double>(v) * v;
  CHECK(std::sqrt(ss / (512.0 * 1024.0)) == Approx(std::sqrt(2.0 / 1024.0)).epsilon(0.02));
  // groups: stem..layer2 -> 0, layer3..layer4 -> 1, head -> 2
  CHECK(params.at("0.0.weight")->group == 0);
  CHECK(params.at("0.5.0.conv1.weight")->group == 0);
  CHECK(params.at("0.6.0.conv1.weight")->group == 1);
  CHECK(params.at("0.7.2.bn2.bias")->group == 1);
  CHECK(params.at("1.8.weight")->group == 2);
  CHECK(nn::count_groups(m) == 3);

  nn::freeze(m);  // fastai: only the head and every BatchNorm train
  CHECK_FALSE(params.at("0.4.0.conv1.weight")->requires_grad());
  CHECK(params.at("0.4.0.bn1.weight")->requires_grad());
  CHECK(params.at("1.8.weight")->requires_grad());
  nn::freeze_to(m, 1);
  CHECK_FALSE(params.at("0.5.0.conv1.weight")->requires_grad());
  CHECK(params.at("0.6.0.conv1.weight")->requires_grad());
  nn::unfreeze(m);
  CHECK(params.at("0.0.weight")->requires_grad());

  SECTION("a frozen layer gets no gradient, a frozen BatchNorm still does") {
    nn::freeze(m);
    nn::zero_grad(m);
    auto ctx = nn::Ctx::train(5);
    const auto y = m.forward(ctx, formula_input(2, 3, 32, 32));
    CHECK(y.shape() == Shape{2, 37});
    m.backward(ctx, Tensor<float>::full(y.shape(), 0.1f));
    auto norm = [](const nn::Param& p) {
      double s = 0;
      for (float v : p.grad) s += std::abs(v);
      return s;
    };
    CHECK(norm(*params.at("0.4.0.conv1.weight")) == 0.0);
    CHECK(norm(*params.at("0.4.0.bn1.weight")) > 0.0);
    CHECK(norm(*params.at("1.4.weight")) > 0.0);
  }
}

TEST_CASE("torchvision weights load into the fastai body by name", "[models]") {
  auto tv = make_torchvision_resnet<resnet18>(1000, 11);
  auto fa = make_fastai_model<resnet18>(5, 12);
  const auto report = load_torchvision_body(fa, models::state_dict(tv));
  CHECK(report.unexpected.empty());  // fc.* is dropped by the renaming, not reported
  for (const auto& k : report.missing) CHECK(k.rfind("1.", 0) == 0);  // only the head is left out
  // same body output: torchvision up to layer4 vs fastai body
  auto ctx = nn::Ctx::eval();
  const auto x = formula_input(1, 3, 32, 32);
  auto& body = fa.get<0>();
  Tensor<float> a = tv.get<0>().forward(ctx, x);
  a = tv.get<1>().forward(ctx, a);
  a = tv.get<2>().forward(ctx, a);
  a = tv.get<3>().forward(ctx, a);
  a = tv.get<4>().forward(ctx, a);
  a = tv.get<5>().forward(ctx, a);
  a = tv.get<6>().forward(ctx, a);
  a = tv.get<7>().forward(ctx, a);
  CHECK(max_abs_diff(a, body.forward(ctx, x)) == 0.0);

  io::SafeTensors partial = models::state_dict(tv);
  partial.tensors.erase("layer2.0.conv1.weight");
  CHECK_THROWS_WITH(load_torchvision_body(fa, partial), Catch::Contains("0.5.0.conv1.weight"));
}

