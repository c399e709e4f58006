// Runs on a GPU machine only. The whole training loop on the cuda device: the same network, data and seeds
// trained on the cpu and on the GPU end with the same weights, within float reduction-order tolerance, and
// with the same metrics. Nothing in nn/, loss/ or the Learner knows the device: this is the seam's proof.
#include <catch2/catch.hpp>
#include <cmath>
#include <fastpp/backend/cuda.hpp>
#include <fastpp/learner.hpp>
#include <fastpp/models.hpp>
#include <random>
#include <type_traits>
#include <vector>

#include "../learner/helpers.hpp"

using namespace fastpp;

namespace training_test {

// Largest |gpu - cpu| relative to the largest |cpu| of the vector, and where.
struct Gap {
  double worst = 0;
  std::size_t at = 0;
};
inline Gap relative_gap(const std::vector<float>& gpu, const std::vector<float>& cpu) {
  double scale = 0;
  for (float c : cpu) scale = std::max(scale, std::abs(static_cast<double>(c)));
  Gap g;
  for (std::size_t k = 0; k < cpu.size(); ++k) {
    const double d = std::abs(static_cast<double>(gpu[k]) - cpu[k]) / std::max(scale, 1e-30);
    if (!(d <= g.worst)) g = {std::isnan(d) ? INFINITY : d, k};
  }
  return g;
}

template <class D, class T = float>
auto tiny_on(std::uint64_t seed) {
  using Net = nn::on_device_t<test::TinyNet, D, T>;
  Net net(nn::Build{Rng(seed), 3});
  net.for_each_param([](const std::string& name, auto& p) { p.group = name.rfind("6.", 0) == 0 ? 1 : 0; });
  return net;
}

}  // namespace training_test

TEST_CASE("a network built on the GPU starts with the cpu's weights", "[cuda][training]") {
  auto cpu_net = training_test::tiny_on<cpu>(7);
  auto gpu_net = training_test::tiny_on<cuda>(7);
  CHECK(test::bit_equal(test::weights_of(gpu_net), test::weights_of(cpu_net)));
}

TEST_CASE("fit_one_cycle on the GPU ends where the cpu's does", "[cuda][training]") {
  test::TempDir t;
  test::write_colour_dataset(t.path());
  auto run = [&](auto net) {
    auto learn = make_learner(test::colour_dls(t.path(), 8, 0, 3), std::move(net), metrics(error_rate),
                              test::quiet_in(t.path()));
    learn.fit_one_cycle(2, 1e-2);
    const auto v = learn.validate();
    return std::make_pair(test::weights_of(learn.model()), v);
  };
  const auto [cpu_w, cpu_v] = run(training_test::tiny_on<cpu>(11));
  const auto [gpu_w, gpu_v] = run(training_test::tiny_on<cuda>(11));
  REQUIRE(gpu_w.size() == cpu_w.size());
  const auto gap = training_test::relative_gap(gpu_w, cpu_w);
  INFO("largest weight gap " << gap.worst << " at " << gap.at);
  CHECK(gap.worst < 1e-3);
  REQUIRE(gpu_v.size() == cpu_v.size());
  for (std::size_t k = 0; k < cpu_v.size(); ++k) CHECK(gpu_v[k] == Approx(cpu_v[k]).epsilon(1e-3).margin(1e-4));
}

// A model with half or bfloat16 activations (tensor cores on the GPU, via float on the cpu): the GPU's run
// follows the cpu's. The GPU multiplies by the weights rounded to A (as autocast) where the cpu's via_float
// uses the float weights, and rounds a biased output twice: the bounds are those of A, not of float.
template <class A>
void low_precision_fit_matches_cpu(double weight_tol, double metric_tol) {
  test::TempDir t;
  test::write_colour_dataset(t.path());
  auto run = [&](auto net) {
    auto learn = make_learner(test::colour_dls(t.path(), 8, 0, 3), std::move(net), metrics(error_rate),
                              test::quiet_in(t.path()));
    if constexpr (std::is_same_v<A, half>) learn.to_fp16();
    learn.fit_one_cycle(2, 1e-2);
    const auto v = learn.validate();
    return std::make_pair(test::weights_of(learn.model()), v);
  };
  const auto [cpu_w, cpu_v] = run(training_test::tiny_on<cpu, A>(11));
  const auto [gpu_w, gpu_v] = run(training_test::tiny_on<cuda, A>(11));
  REQUIRE(gpu_w.size() == cpu_w.size());
  const auto gap = training_test::relative_gap(gpu_w, cpu_w);
  INFO("largest weight gap " << gap.worst << " at " << gap.at);
  CHECK(gap.worst < weight_tol);
  for (std::size_t k = 0; k < cpu_v.size(); ++k)
    CHECK(gpu_v[k] == Approx(cpu_v[k]).epsilon(metric_tol).margin(metric_tol / 10));
}

TEST_CASE("a half model (to_fp16) and a bfloat16 model train on the GPU as on the cpu", "[cuda][training]") {
  low_precision_fit_matches_cpu<half>(2e-2, 2e-2);
  low_precision_fit_matches_cpu<bfloat16>(1e-1, 1e-1);
}

TEST_CASE("a GPU learner runs aug_transforms and Normalize on the GPU and trains as the cpu's", "[cuda][training]") {
  test::TempDir t;
  test::write_colour_dataset(t.path());
  auto run = [&](auto net, bool expect_deferred) {
    auto block = DataBlock{Blocks{ImageBlock{.load = load_netpbm}, CategoryBlock{}}, get_image_files,
                           GrandparentSplitter{}, parent_label, item_tfms(Resize{12}),
                           batch_tfms(aug_transforms({.size = 10, .min_scale = 0.75}),
                                      Normalize::from_stats(imagenet_stats))};
    auto learn = make_learner(block.dataloaders(t.path(), {.bs = 8, .num_workers = 2, .seed = 3}), std::move(net),
                              metrics(error_rate), test::quiet_in(t.path()));
    CHECK(learn.dls().train.batch_tfms_deferred() == expect_deferred);
    learn.fit_one_cycle(2, 1e-2);
    const auto v = learn.validate();
    return std::make_pair(test::weights_of(learn.model()), v);
  };
  const auto [cpu_w, cpu_v] = run(training_test::tiny_on<cpu>(11), false);
  const auto [gpu_w, gpu_v] = run(training_test::tiny_on<cuda>(11), true);
  const auto gap = training_test::relative_gap(gpu_w, cpu_w);
  INFO("largest weight gap " << gap.worst << " at " << gap.at);
  CHECK(gap.worst < 1e-3);  // the batches agree within float rounding (test_device_batch.cpp)
  for (std::size_t k = 0; k < cpu_v.size(); ++k) CHECK(gpu_v[k] == Approx(cpu_v[k]).epsilon(1e-3).margin(1e-4));
}

TEST_CASE("a fastai ResNet-18's forward and backward on the GPU match the cpu's", "[cuda][training]") {
  auto cpu_m = models::make_fastai_model<models::resnet18, cpu>(5, 3);
  auto gpu_m = models::make_fastai_model<models::resnet18, cuda>(5, 3);
  std::mt19937 gen(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto x = Tensor<float, cpu>::empty({4, 64, 64, 3});
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = normal(gen);
  nn::Ctx cctx, gctx;
  const auto y_cpu = cpu_m.forward(cctx, x);
  const auto y_gpu = gpu_m.forward(gctx, x.template to<cuda>()).template to<cpu>();
  REQUIRE(y_gpu.shape() == y_cpu.shape());
  const std::vector<float> yc(y_cpu.data(), y_cpu.data() + y_cpu.numel());
  const std::vector<float> yg(y_gpu.data(), y_gpu.data() + y_gpu.numel());
  CHECK(training_test::relative_gap(yg, yc).worst < 1e-3);
  auto dy = Tensor<float, cpu>::empty(y_cpu.shape());
  for (std::int64_t i = 0; i < dy.numel(); ++i) dy.data()[i] = normal(gen);
  cpu_m.backward(cctx, dy);
  gpu_m.backward(gctx, dy.template to<cuda>());
  std::vector<float> gc, gg;
  cpu_m.for_each_param([&](const std::string&, auto& p) {
    const auto h = p.grad.template to<cpu>();
    gc.insert(gc.end(), h.data(), h.data() + h.numel());
  });
  gpu_m.for_each_param([&](const std::string&, auto& p) {
    const auto h = p.grad.template to<cpu>();
    gg.insert(gg.end(), h.data(), h.data() + h.numel());
  });
  REQUIRE(gg.size() == gc.size());
  const auto gap = training_test::relative_gap(gg, gc);
  INFO("largest gradient gap " << gap.worst << " at " << gap.at);
  CHECK(gap.worst < 2e-3);
}

TEST_CASE("to_fp16, get_preds, save and load on the GPU", "[cuda][training]") {
  test::TempDir t;
  test::write_colour_dataset(t.path());
  auto run = [&](auto net) {
    auto learn = make_learner(test::colour_dls(t.path(), 8, 0, 5), std::move(net), metrics(error_rate),
                              test::quiet_in(t.path()));
    learn.to_fp16();
    learn.fit_one_cycle(1, 1e-2);
    const auto preds = learn.get_preds(1, true);
    learn.save("gpu_check");
    const auto before = test::weights_of(learn.model());
    learn.fit(1, 1e-3);  // move away, then come back
    learn.load("gpu_check");
    const bool restored = test::bit_equal(test::weights_of(learn.model()), before);
    return std::make_tuple(before, preds.probs, preds.losses, restored, learn.loss_scaler()->skipped_steps());
  };
  const auto [cpu_w, cpu_p, cpu_l, cpu_restored, cpu_skipped] = run(training_test::tiny_on<cpu>(13));
  const auto [gpu_w, gpu_p, gpu_l, gpu_restored, gpu_skipped] = run(training_test::tiny_on<cuda>(13));
  CHECK(cpu_restored);
  CHECK(gpu_restored);
  CHECK(gpu_skipped == cpu_skipped);
  // half rounding of weights and activations: a step's difference may round to the neighbouring half
  CHECK(training_test::relative_gap(gpu_w, cpu_w).worst < 5e-3);
  const std::vector<float> pc(cpu_p.data(), cpu_p.data() + cpu_p.numel()), pg(gpu_p.data(), gpu_p.data() + gpu_p.numel());
  const std::vector<float> lc(cpu_l.data(), cpu_l.data() + cpu_l.numel()), lg(gpu_l.data(), gpu_l.data() + gpu_l.numel());
  CHECK(training_test::relative_gap(pg, pc).worst < 1e-2);
  CHECK(training_test::relative_gap(lg, lc).worst < 1e-2);
}

TEST_CASE("lr_find on the GPU follows the cpu's curve", "[cuda][training]") {
  test::TempDir t;
  test::write_colour_dataset(t.path());
  auto run = [&](auto net) {
    auto learn = make_learner(test::colour_dls(t.path(), 8, 0, 9), std::move(net), {}, test::quiet_in(t.path()));
    LrFindOptions o;
    o.end_lr = 1.0;
    o.num_it = 12;
    return learn.lr_find(o);
  };
  const auto c = run(training_test::tiny_on<cpu>(17));
  const auto g = run(training_test::tiny_on<cuda>(17));
  REQUIRE(g.lrs.size() == c.lrs.size());
  for (std::size_t k = 0; k < c.lrs.size(); ++k) {
    CHECK(g.lrs[k] == c.lrs[k]);
    CHECK(g.losses[k] == Approx(c.losses[k]).epsilon(1e-3));
  }
}

TEST_CASE("vision_learner on the GPU: a checkpoint's body as pretrained weights, then fine_tune, as on the cpu",
          "[cuda][training]") {
  test::TempDir t;
  test::write_colour_dataset(t.path());
  VisionLearnerOptions src_opts;
  src_opts.seed = 4;
  src_opts.learner = test::quiet_in(t.path());
  auto src = vision_learner<models::resnet18>(test::colour_dls(t.path(), 8, 0, 1), {}, src_opts);
  const auto body = src.save("body");
  auto run = [&](auto device) {
    using D = decltype(device);
    VisionLearnerOptions o;
    o.weights = body;
    o.seed = 5;
    o.learner = test::quiet_in(t.path());
    auto learn = vision_learner<models::resnet18, D>(test::colour_dls(t.path(), 8, 0, 2), metrics(error_rate), o);
    learn.fine_tune(1, 1e-3);
    return std::make_pair(test::weights_of(learn.model()), learn.validate());
  };
  const auto [cpu_w, cpu_v] = run(cpu{});
  const auto [gpu_w, gpu_v] = run(cuda{});
  const auto gap = training_test::relative_gap(gpu_w, cpu_w);
  INFO("largest weight gap " << gap.worst << " at " << gap.at);
  CHECK(gap.worst < 2e-3);
  for (std::size_t k = 0; k < cpu_v.size(); ++k) CHECK(gpu_v[k] == Approx(cpu_v[k]).epsilon(1e-2).margin(1e-3));
}
