// to_fp16 on the CPU: storage in half, arithmetic in float, dynamic loss scaling. The same seed trained
// in float32 and in fp16 ends close; an overflowing step is skipped with the weights bit-identical. A model
// built with half or bfloat16 activations (the GPU's fast path, on the cpu through float) trains the same.
#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace fastpp;
using namespace fastpp::test;

namespace {
LearnerOptions quiet_seeded() {
  LearnerOptions o;
  o.progress = Progress::none;
  o.seed = 4;
  return o;
}
template <class M>
std::vector<float> params_of(M& m) {
  std::vector<float> out;
  m.for_each_param([&](const std::string&, nn::Param& p) {
    const auto v = p.to_host();
    out.insert(out.end(), v.begin(), v.end());
  });
  return out;
}
}  // namespace

TEST_CASE("fp16 training follows float32 training from the same seed", "[learner][fp16]") {
  TempDir t;
  write_colour_dataset(t.path());
  auto f32 = make_learner(colour_dls(t.path()), tiny_net(), metrics(accuracy), quiet_seeded());
  auto f16 = make_learner(colour_dls(t.path()), tiny_net(), metrics(accuracy), quiet_seeded());
  f16.to_fp16();
  REQUIRE(f16.is_fp16());
  f32.fit_one_cycle(3, 2e-2);
  f16.fit_one_cycle(3, 2e-2);
  const auto a = f32.recorder().values.back(), b = f16.recorder().values.back();
  INFO("float32 train/valid loss " << a[0] << " " << a[1] << ", fp16 " << b[0] << " " << b[1]);
  // Half keeps 11 significant bits; after 27 steps the losses agree to well within half a percent.
  CHECK(std::abs(a[0] - b[0]) <= 0.005 * a[0]);  // measured: 3e-5 relative
  CHECK(std::abs(a[1] - b[1]) <= 0.005 * a[1]);
  CHECK(b[2] >= 0.9);
  CHECK(f16.loss_scaler()->skipped_steps() == 0);
  CHECK(f16.loss_scaler()->scale() == 65536.0);
  // The master weights are float (not rounded to half) and differ from the float32 run's only a little.
  const auto w = params_of(f16.model());
  bool some_not_half = false;
  for (float v : w) some_not_half |= static_cast<float>(half(v)) != v;
  CHECK(some_not_half);
}

TEST_CASE("an overflowing fp16 step is skipped: weights bit-identical, the scale halves", "[learner][fp16]") {
  TempDir t;
  write_colour_dataset(t.path());
  auto learn = make_learner(colour_dls(t.path()), tiny_net(), {}, quiet_seeded());
  LossScalerOptions big;
  big.init_scale = std::ldexp(1.0, 100);  // dlogits * 2^100 overflows half: every gradient is inf
  learn.to_fp16(big);
  const auto before = params_of(learn.model());
  std::vector<bool> skipped;
  auto cb = std::make_shared<LambdaCallback>();
  cb->on_after_step = [&](LearnerBase& l) { skipped.push_back(l.state.step_skipped); };
  FitOptions fo;
  fo.cbs = {cb};
  learn.fit(1, 1e-2, fo);
  const auto n = learn.dls().train.n_batches();
  REQUIRE(static_cast<std::int64_t>(skipped.size()) == n);
  for (bool s : skipped) CHECK(s);
  CHECK(bit_equal(params_of(learn.model()), before));
  CHECK(learn.loss_scaler()->scale() == std::ldexp(1.0, 100 - static_cast<int>(n)));
  CHECK(learn.loss_scaler()->skipped_steps() == n);
  // With a sane scale the next fit trains, and the checkpoint keeps the scaler's state.
  learn.to_fp16();
  learn.fit(1, 1e-2);
  CHECK_FALSE(bit_equal(params_of(learn.model()), before));
  learn.save("fp16");
  auto other = make_learner(colour_dls(t.path()), tiny_net(), {}, quiet_seeded());
  other.to_fp16(big);
  other.load("fp16");
  CHECK(other.loss_scaler()->scale() == 65536.0);
  CHECK(bit_equal(params_of(other.model()), params_of(learn.model())));
}

TEST_CASE("a model with half or bfloat16 activations trains like the float one and keeps float parameters",
          "[learner][fp16]") {
  TempDir t;
  write_colour_dataset(t.path());
  using HalfNet = nn::on_device_t<TinyNet, cpu, half>;
  using BfNet = nn::on_device_t<TinyNet, cpu, bfloat16>;
  const auto build = [](auto* tag) {
    using Net = std::remove_pointer_t<decltype(tag)>;
    Net net(nn::Build{Rng(0), 3});
    net.for_each_param([](const std::string& name, nn::Param& p) { p.group = name.rfind("6.", 0) == 0 ? 1 : 0; });
    return net;
  };
  auto f32 = make_learner(colour_dls(t.path()), tiny_net(), metrics(accuracy), quiet_seeded());
  auto f16 = make_learner(colour_dls(t.path()), build(static_cast<HalfNet*>(nullptr)), metrics(accuracy),
                          quiet_seeded());
  auto bf16 = make_learner(colour_dls(t.path()), build(static_cast<BfNet*>(nullptr)), metrics(accuracy),
                           quiet_seeded());
  static_assert(std::is_same_v<decltype(f16)::value_type, half>);
  REQUIRE(bit_equal(params_of(f16.model()), params_of(f32.model())));  // the same initial weights
  f16.to_fp16();
  f32.fit_one_cycle(3, 2e-2);
  f16.fit_one_cycle(3, 2e-2);
  bf16.fit_one_cycle(3, 2e-2);
  const auto a = f32.recorder().values.back(), b = f16.recorder().values.back(), c = bf16.recorder().values.back();
  INFO("float32 train/valid loss " << a[0] << " " << a[1] << ", half " << b[0] << " " << b[1] << ", bfloat16 "
                                   << c[0] << " " << c[1]);
  // Half activations round every layer's output (11 bits), bfloat16 (8 bits) more. Measured: both within
  // 7e-4 of the float losses (relative).
  CHECK(std::abs(a[0] - b[0]) <= 0.005 * a[0]);
  CHECK(std::abs(a[1] - b[1]) <= 0.005 * a[1]);
  CHECK(std::abs(a[0] - c[0]) <= 0.02 * a[0]);
  CHECK(std::abs(a[1] - c[1]) <= 0.02 * a[1]);
  CHECK(b[2] >= 0.9);
  CHECK(c[2] >= 0.9);
  CHECK(f16.loss_scaler()->skipped_steps() == 0);
  // The parameters are float masters that moved with the float run's, not half values.
  const auto w16 = params_of(f16.model()), w32 = params_of(f32.model());
  bool some_not_half = false;
  double max_diff = 0.0;
  for (std::size_t i = 0; i < w16.size(); ++i) {
    some_not_half |= static_cast<float>(half(w16[i])) != w16[i];
    max_diff = std::max(max_diff, static_cast<double>(std::abs(w16[i] - w32[i])));
  }
  CHECK(some_not_half);
  CHECK(max_diff > 0.0);
  CHECK(max_diff < 0.05);
  // Predictions read the half model's output as float; they agree with validate().
  const auto preds = f16.get_preds(1, true);
  REQUIRE(preds.probs.size(0) == f16.dls().valid.n_items());
  double loss_sum = 0.0;
  for (const float l : preds.losses) loss_sum += l;
  CHECK(loss_sum / static_cast<double>(preds.losses.numel()) == Approx(f16.validate()[0]).epsilon(1e-5));
  // A checkpoint of a half model holds float weights and loads back bit for bit.
  f16.save("half");
  auto again = make_learner(colour_dls(t.path()), build(static_cast<HalfNet*>(nullptr)), {}, quiet_seeded());
  again.to_fp16();
  again.load("half");
  CHECK(bit_equal(params_of(again.model()), params_of(f16.model())));
}
