// Mixed precision's parts: the dynamic loss scaler (PyTorch GradScaler's rules), the skipped step that
// leaves weights bit-identical, half rounding of values, and half weights with float masters.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#if defined(__F16C__)
#include <immintrin.h>
#endif

#include <fastpp/learner/mixed_precision.hpp>
#include <fastpp/nn.hpp>

#include "../nn/counting_device.hpp"  // a second device whose kernel tables count their calls

using namespace fastpp;

namespace {

constexpr float inf = std::numeric_limits<float>::infinity();

// Parameters of every kind the scaler and the half weights treat differently.
struct TinyModel {
  nn::Param w{Shape{3, 4}};
  nn::Param b{Shape{4}, false, true};
  nn::Param bn{Shape{4}, true};  // normalisation: kept float by HalfWeights, trains when frozen
  nn::Param head{Shape{2}};

  template <class F>
  void for_each_param(F&& f, const std::string& prefix = {}) {
    f(prefix + "w", w);
    f(prefix + "b", b);
    f(prefix + "bn", bn);
    f(prefix + "head", head);
  }
};

void set(nn::Param& p, const std::vector<float>& v) { p.assign(v); }
void set_grad(nn::Param& p, const std::vector<float>& v) {
  REQUIRE(static_cast<std::int64_t>(v.size()) == p.grad.numel());
  std::memcpy(p.grad.data(), v.data(), v.size() * sizeof(float));
}
std::vector<float> values(const Tensor<float>& t) { return {t.begin(), t.end()}; }
std::vector<std::uint32_t> bits(const Tensor<float>& t) {
  std::vector<std::uint32_t> out;
  for (const float v : t) out.push_back(std::bit_cast<std::uint32_t>(v));
  return out;
}

// TinyModel's parameters and one more.
struct Bigger {
  TinyModel* t;
  nn::Param extra{Shape{3}};
  template <class F>
  void for_each_param(F&& f) {
    t->for_each_param(f);
    f("extra", extra);
  }
};

void fill_model(TinyModel& m) {
  // values that half cannot hold exactly, so rounding shows
  set(m.w, {0.1f, -0.2f, 0.3f, 1.0f / 3, 1e-6f, -1e-7f, 70000.0f, 65519.0f, 2.0f, -2.5f, 1.0001f, 3.14159f});
  set(m.b, {0.01f, 0.02f, 0.03f, 0.04f});
  set(m.bn, {1.0001f, 0.9999f, 1.2345678f, -0.333333f});
  set(m.head, {0.7f, -0.7f});
}

// The scaled gradient a backward of (loss * scale) would give, computed in float like the model does.
std::vector<float> scaled(const std::vector<float>& g, double scale) {
  std::vector<float> out;
  for (const float v : g) out.push_back(v * static_cast<float>(scale));
  return out;
}

// One plain SGD step on the masters: p -= lr * g (the optimizer itself is the optim helper's).
void sgd(TinyModel& m, float lr) {
  m.for_each_param([&](const std::string&, nn::Param& p) {
    if (!p.requires_grad()) return;
    for (std::int64_t i = 0; i < p.value.numel(); ++i) p.value.data()[i] -= lr * p.grad.data()[i];
  });
}

}  // namespace

TEST_CASE("LossScaler starts at PyTorch's defaults and checks its options", "[fp16]") {
  LossScaler s;
  CHECK(s.scale() == 65536.0);
  CHECK(s.growth_tracker() == 0);
  CHECK(s.skipped_steps() == 0);
  CHECK(s.options().growth_interval == 2000);
  CHECK(s.inv_scale() == 1.0f / 65536.0f);
  CHECK_THROWS_WITH(LossScaler({.init_scale = 0}), Catch::Contains("init_scale"));
  CHECK_THROWS_WITH(LossScaler({.init_scale = 1e39}), Catch::Contains("float32"));
  CHECK_THROWS_WITH(LossScaler({.growth_factor = 1.0}), Catch::Contains("growth_factor must be > 1"));
  CHECK_THROWS_WITH(LossScaler({.backoff_factor = 1.0}), Catch::Contains("backoff_factor"));
  CHECK_THROWS_WITH(LossScaler({.backoff_factor = 0.0}), Catch::Contains("backoff_factor"));
  CHECK_THROWS_WITH(LossScaler({.growth_interval = 0}), Catch::Contains("growth_interval"));
}

TEST_CASE("unscale_and_check divides the gradients by the scale and finds inf and NaN", "[fp16]") {
  TinyModel m;
  LossScaler s;
  const std::vector<float> gw = {0.5f, -1e-3f, 3.0f, 0, 1e-30f, -7.25f, 1, 2, 3, 4, 5, 6};
  set_grad(m.w, scaled(gw, s.scale()));
  set_grad(m.b, scaled({1, 2, 3, 4}, s.scale()));
  set_grad(m.bn, scaled({-1, -2, -3, -4}, s.scale()));
  set_grad(m.head, scaled({0.25f, 8}, s.scale()));
  REQUIRE(s.unscale_and_check(m));
  CHECK(values(m.w.grad) == gw);  // a power-of-two scale divides exactly
  CHECK(values(m.head.grad) == std::vector<float>{0.25f, 8});

  SECTION("a gradient that overflowed in backward (scale too high) is found") {
    // 1e35 * 2^16 overflows float: backward of the scaled loss would give inf
    set_grad(m.b, scaled({1, 1e35f, 3, 4}, s.scale()));
    REQUIRE(std::isinf(m.b.grad.data()[1]));
    CHECK_FALSE(s.unscale_and_check(m));
    // every gradient was still unscaled (no early exit), the finite ones exactly
    CHECK(m.b.grad.data()[0] == 1.0f);
    CHECK(m.w.grad.data()[0] == 0.5f / 65536.0f);
  }
  SECTION("an inf or a NaN anywhere is found") {
    set_grad(m.head, {-inf, 1});
    CHECK_FALSE(s.unscale_and_check(m));
    set_grad(m.head, {1, std::nanf("")});
    CHECK_FALSE(s.unscale_and_check(m));
  }
  SECTION("an overflow while unscaling with a scale below 1 is found (PyTorch checks before unscaling)") {
    LossScaler small({.init_scale = 1.0 / 1024});
    set_grad(m.head, {1e36f, 1});
    CHECK_FALSE(small.unscale_and_check(m));
    CHECK(std::isinf(m.head.grad.data()[0]));
  }
  SECTION("frozen parameters' gradients are not looked at; frozen norm parameters' are") {
    m.head.frozen = true;
    set_grad(m.head, {inf, inf});
    CHECK(s.unscale_and_check(m));
    CHECK(std::isinf(m.head.grad.data()[0]));  // left alone, not unscaled
    m.bn.frozen = true;                         // still trains (train_bn)
    set_grad(m.bn, {std::nanf(""), 0, 0, 0});
    CHECK_FALSE(s.unscale_and_check(m));
  }
}

TEST_CASE("update backs off on inf, grows after growth_interval clean steps, as PyTorch", "[fp16]") {
  LossScaler s({.init_scale = 1024, .growth_interval = 3});
  s.update(true);  // overflow: halve, reset
  CHECK(s.scale() == 512);
  CHECK(s.growth_tracker() == 0);
  CHECK(s.skipped_steps() == 1);
  s.update(false);
  s.update(false);
  CHECK(s.scale() == 512);
  CHECK(s.growth_tracker() == 2);
  s.update(true);  // an overflow resets the count of clean steps
  CHECK(s.scale() == 256);
  CHECK(s.growth_tracker() == 0);
  for (int i = 0; i < 2; ++i) s.update(false);
  CHECK(s.scale() == 256);
  s.update(false);  // the third clean step in a row doubles
  CHECK(s.scale() == 512);
  CHECK(s.growth_tracker() == 0);
  for (int i = 0; i < 6; ++i) s.update(false);
  CHECK(s.scale() == 2048);
  CHECK(s.skipped_steps() == 2);

  // PyTorch keeps the scale in float32 and refuses a growth that would overflow it
  LossScaler top({.init_scale = 0x1p127, .growth_interval = 1});
  top.update(false);
  CHECK(top.scale() == 0x1p127);
  CHECK(top.growth_tracker() == 0);
  // factors that are not powers of two round the scale to float32 after the double multiply
  LossScaler odd({.init_scale = 1000, .growth_factor = 1.1, .backoff_factor = 0.3, .growth_interval = 1});
  odd.update(false);
  CHECK(odd.scale() == static_cast<double>(static_cast<float>(1000.0f * 1.1)));
  odd.update(true);
  CHECK(odd.scale() == static_cast<double>(static_cast<float>(static_cast<double>(static_cast<float>(1000.0f * 1.1)) * 0.3)));
}

TEST_CASE("LossScaler state round-trips exactly and a bad state is refused before any change", "[fp16]") {
  LossScaler s({.growth_interval = 5});
  s.update(true);
  s.update(false);
  s.update(false);
  const auto st = s.state();
  CHECK(st.scale == 32768);
  CHECK(st.growth_tracker == 2);
  CHECK(st.skipped == 1);
  LossScaler t({.growth_interval = 5});
  t.set_state(st);
  CHECK(t.scale() == s.scale());
  CHECK(t.growth_tracker() == 2);
  CHECK(t.skipped_steps() == 1);
  for (int i = 0; i < 3; ++i) {
    s.update(false);
    t.update(false);
  }
  CHECK(t.scale() == 65536);
  CHECK(t.scale() == s.scale());

  CHECK_THROWS_WITH(t.set_state({0.1, 0, 0}), Catch::Contains("not a positive float32 value"));
  CHECK_THROWS_WITH(t.set_state({-2, 0, 0}), Catch::Contains("scale"));
  CHECK_THROWS_WITH(t.set_state({2, 5, 0}), Catch::Contains("growth_tracker 5"));
  CHECK_THROWS_WITH(t.set_state({2, 0, -1}), Catch::Contains("skipped"));
  CHECK(t.scale() == 65536);  // unchanged by the refused states
}

TEST_CASE("a step skipped on overflow leaves the weights bit-identical; a clean one moves them", "[fp16]") {
  TinyModel m;
  fill_model(m);
  HalfWeights<cpu> half_w(m);
  LossScaler s({.init_scale = 0x1p20});
  const auto before = [&] {
    std::vector<std::vector<std::uint32_t>> all;
    m.for_each_param([&](const std::string&, nn::Param& p) { all.push_back(bits(p.value)); });
    return all;
  };
  const auto masters0 = before();

  // the step, as the Learner does it
  const auto step = [&](const std::vector<float>& grad_w) {
    half_w.round_model(m);
    set_grad(m.w, scaled(grad_w, s.scale()));  // "backward" of the scaled loss
    set_grad(m.b, scaled({1, 1, 1, 1}, s.scale()));
    set_grad(m.bn, scaled({1, 1, 1, 1}, s.scale()));
    set_grad(m.head, scaled({1, 1}, s.scale()));
    half_w.restore_masters(m);
    const bool ok = s.unscale_and_check(m);
    if (ok) {
      sgd(m, 0.25f);  // lr * g exact, so the check below holds with or without FMA
      half_w.capture_masters(m);
    }
    s.update(!ok);
    nn::zero_grad(m);
    return ok;
  };

  // 1e33 * 2^20 overflows: the step is skipped
  std::vector<float> big(12, 0.5f);
  big[7] = 1e33f;
  CHECK_FALSE(step(big));
  CHECK(before() == masters0);
  CHECK(s.scale() == 0x1p19);
  CHECK(s.skipped_steps() == 1);
  // the masters are untouched too: rounding again from them gives the same half weights as before
  CHECK(half_w.masters()[0].data()[0] == 0.1f);

  // a clean step moves every trainable weight by lr * g, exactly as in float
  CHECK(step(std::vector<float>(12, 0.5f)));
  CHECK(m.w.value.data()[0] == 0.1f - 0.25f * 0.5f);
  CHECK(m.head.value.data()[1] == -0.7f - 0.25f * 1.0f);
  CHECK(before() != masters0);
  CHECK(s.growth_tracker() == 1);
}

TEST_CASE("round_to_half gives IEEE half's nearest value at the edges", "[fp16]") {
  const float sub_min = 0x1p-24f;  // smallest subnormal half
  const std::vector<std::pair<float, float>> cases = {
      {65504.0f, 65504.0f},                 // largest half
      {65519.0f, 65504.0f},                 // below the midpoint to 65536: down
      {65520.0f, inf},                      // the midpoint rounds to even: overflow
      {-65520.0f, -inf},
      {1e10f, inf},
      {inf, inf},
      {-inf, -inf},
      {1.0f + 0x1p-11f, 1.0f},              // a tie rounds to even (down)
      {1.0f + 3 * 0x1p-11f, 1.0f + 0x1p-9f},  // a tie rounds to even (up)
      {1.0f + 0x1p-11f + 0x1p-20f, 1.0f + 0x1p-10f},
      {0x1p-14f, 0x1p-14f},                 // smallest normal half
      {0x1p-14f - 0x1p-25f, 0x1p-14f},      // a tie between the largest subnormal and the smallest normal: even
      {sub_min, sub_min},
      {3 * sub_min, 3 * sub_min},
      {0.5f * sub_min, 0.0f},               // the tie at half the smallest subnormal rounds to even: 0
      {0.50001f * sub_min, sub_min},
      {1.5f * sub_min, 2 * sub_min},        // tie: even
      {2.5f * sub_min, 2 * sub_min},        // tie: even
      {-0.3f * sub_min, -0.0f},
      {1e-30f, 0.0f},
      {0.1f, 0.0999755859375f},
      {-0.0f, -0.0f},
  };
  std::vector<float> xs;
  for (const auto& c : cases) xs.push_back(c.first);
  xs.push_back(std::nanf(""));
  xs.push_back(-std::numeric_limits<float>::quiet_NaN());
  auto t = Tensor<float>::from(Shape{static_cast<std::int64_t>(xs.size())}, xs);
  round_to_half(t);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("x = " << cases[i].first);
    CHECK(std::bit_cast<std::uint32_t>(t.data()[i]) == std::bit_cast<std::uint32_t>(cases[i].second));
    CHECK(t.data()[i] == static_cast<float>(half(cases[i].first)));
  }
  CHECK(std::isnan(t.data()[cases.size()]));
  CHECK(std::isnan(t.data()[cases.size() + 1]));
  CHECK(std::signbit(t.data()[cases.size() + 1]));
}

TEST_CASE("round_to_half agrees with the CPU's own half conversion over a sweep of all float ranges", "[fp16]") {
#if defined(__F16C__)
  // F16C's vcvtps2ph (round to nearest even) is an independent reference: one float bit pattern in every
  // 4099, covering normals, subnormals, infinities and NaNs of both signs, in a tensor large enough that
  // round_to_half splits it over threads.
  std::vector<float> xs;
  for (std::uint64_t u = 0; u <= 0xffffffffull; u += 4099) xs.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(u)));
  auto t = Tensor<float>::from(Shape{static_cast<std::int64_t>(xs.size())}, xs);
  round_to_half(t);
  std::int64_t mismatches = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const float ref = _cvtsh_ss(_cvtss_sh(xs[i], _MM_FROUND_TO_NEAREST_INT));
    const float got = t.data()[i];
    const bool same = std::isnan(ref) ? std::isnan(got) && std::signbit(got) == std::signbit(ref)
                                      : std::bit_cast<std::uint32_t>(got) == std::bit_cast<std::uint32_t>(ref);
    if (!same && mismatches++ < 5) FAIL_CHECK("x bits " << std::bit_cast<std::uint32_t>(xs[i]) << ": " << got << " vs " << ref);
  }
  CHECK(mismatches == 0);
  CHECK(xs.size() > 1'000'000);
#else
  WARN("built without F16C: the hardware comparison is skipped (the edge-value test still runs)");
#endif
}

TEST_CASE("HalfWeights round, restore and capture exactly", "[fp16]") {
  TinyModel m;
  fill_model(m);
  const auto w0 = values(m.w.value), bn0 = values(m.bn.value);
  HalfWeights<cpu> hw(m);
  REQUIRE(hw.masters().size() == 4);

  hw.round_model(m);
  for (std::size_t i = 0; i < w0.size(); ++i) {
    INFO(w0[i]);
    CHECK(m.w.value.data()[i] == static_cast<float>(half(w0[i])));
  }
  CHECK(m.w.value.data()[6] == inf);      // 70000 does not fit a half
  CHECK(m.w.value.data()[7] == 65504.0f);
  CHECK(values(m.bn.value) == bn0);       // normalisation parameters stay float
  CHECK(m.w.value.data()[0] != w0[0]);    // 0.1 is not a half

  hw.restore_masters(m);
  CHECK(values(m.w.value) == w0);  // the float values, exactly
  CHECK(values(m.bn.value) == bn0);

  // capture: the model's values become the masters
  m.w.value.data()[0] = 0.125f + 1e-5f;
  m.bn.value.data()[2] = 7.0f;
  hw.capture_masters(m);
  hw.round_model(m);
  CHECK(m.w.value.data()[0] == static_cast<float>(half(0.125f + 1e-5f)));
  CHECK(m.bn.value.data()[2] == 7.0f);
  hw.restore_masters(m);
  CHECK(m.w.value.data()[0] == 0.125f + 1e-5f);
  CHECK(m.w.value.data()[1] == w0[1]);

  // the masters are copies, not views of the model's storage
  CHECK_FALSE(hw.masters()[0].shares_storage_with(m.w.value));

  SECTION("keep_norm_float = false rounds normalisation parameters too") {
    HalfWeights<cpu> all(m, false);
    all.round_model(m);
    CHECK(m.bn.value.data()[0] == static_cast<float>(half(1.0001f)));
    CHECK(m.bn.value.data()[0] != 1.0001f);
  }
}

TEST_CASE("HalfWeights refuses a model whose parameters changed, before changing anything", "[fp16]") {
  TinyModel m;
  fill_model(m);
  HalfWeights<cpu> hw(m);
  Bigger bigger{&m};
  const auto w0 = values(m.w.value);
  CHECK_THROWS_WITH(hw.round_model(bigger), Catch::Contains("more parameters") && Catch::Contains("extra"));
  CHECK(values(m.w.value) == w0);  // the first parameters were not rounded before the refusal
  nn::Linear<4, 3> lin;
  CHECK_THROWS_WITH(hw.restore_masters(lin), Catch::Contains("parameter #0 is \"weight\"") && Catch::Contains("\"w\""));
}

TEST_CASE("half weights and the scaler work over an nn layer", "[fp16]") {
  nn::Linear<4, 3> lin;
  const auto w0 = lin.weight.to_host();
  HalfWeights<cpu> hw(lin);
  hw.round_model(lin);
  const auto rounded = lin.weight.to_host();
  for (std::size_t i = 0; i < w0.size(); ++i) CHECK(rounded[i] == static_cast<float>(half(w0[i])));
  hw.restore_masters(lin);
  CHECK(lin.weight.to_host() == w0);
  LossScaler s;
  lin.weight.grad.data()[5] = inf;
  CHECK_FALSE(s.unscale_and_check(lin));
}

TEST_CASE("the scaler unscales through the device's kernel table and the half weights work on any host device",
          "[fp16]") {
  nn::Linear<4, 3, true, seam::counting> lin;
  lin.bias.frozen = true;  // not unscaled: no kernel call for it
  seam::kernel_log().clear();
  LossScaler s;
  lin.weight.grad.data()[0] = 65536.0f * 3;
  CHECK(s.unscale_and_check(lin));
  CHECK(lin.weight.grad.data()[0] == 3.0f);
  CHECK(seam::kernel_log().of("unscale_and_check_finite") == 1);
  lin.weight.grad.data()[1] = std::nanf("");
  CHECK_FALSE(s.unscale_and_check(lin));
  CHECK(seam::kernel_log().of("unscale_and_check_finite") == 2);

  HalfWeights<seam::counting> hw(lin);
  const auto w0 = lin.weight.to_host();
  hw.round_model(lin);
  CHECK(lin.weight.value.data()[0] == static_cast<float>(half(w0[0])));
  hw.restore_masters(lin);
  CHECK(lin.weight.to_host() == w0);
}
