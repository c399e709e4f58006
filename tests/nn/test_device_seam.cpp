// The device seam: a small ResNet built for a device defined only in this test folder
// (counting_device.hpp) runs forward, a loss and backward with nothing changed in nn/ or loss/,
// allocates its memory from that device's allocator, computes every value through that device's kernel
// tables, and gives bit for bit what the same network and loss give on the cpu.
#include <catch2/catch.hpp>

#include <fastpp/loss.hpp>
#include <fastpp/models.hpp>
#include <fastpp/nn.hpp>

#include "counting_device.hpp"

using namespace fastpp;
using namespace fastpp::nn;

namespace {

using SmallResNet =
    Sequential<Conv2d<3, 8, ConvOpts{.kernel = 3, .padding = 1, .bias = false}>, BatchNorm2d<8>, ReLU,
               MaxPool2d<PoolOpts{.kernel = 2}>, BasicBlock<8, 8, 1>, BasicBlock<8, 16, 2>, AdaptiveConcatPool2d<1>,
               Flatten, BatchNorm1d<32>, Dropout<25>, Linear<32, dyn>>;
using CountingResNet = on_device_t<SmallResNet, seam::counting>;

static_assert(std::is_same_v<CountingResNet::device_type, seam::counting>);
static_assert(Layer<CountingResNet>);
static_assert(CountingResNet::out_channels == dyn);

Tensor<float> seam_input(const Shape& s) {
  auto t = Tensor<float>::empty(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = std::sin(static_cast<float>(i) * 0.13f);
  return t;
}

template <class D>
std::vector<float> host(const Tensor<float, D>& t) {
  auto c = t.template to<cpu>();
  return {c.begin(), c.end()};
}

template <class Net>
std::map<std::string, std::vector<float>> grads_of(Net& net) {
  std::map<std::string, std::vector<float>> g;
  net.for_each_param([&](const std::string& name, auto& p) { g[name] = host(p.grad); });
  return g;
}

}  // namespace

TEST_CASE("a small ResNet on a test device computes through its kernels only, equal to the cpu", "[nn][device]") {
  const long live_before = seam::blocks_live();
  {
    SmallResNet on_cpu(Build{Rng(3), 5});
    CountingResNet on_test(Build{Rng(3), 5});  // the same seed: the same initial weights
    seam::kernel_log().clear();
    const long allocated_before = seam::blocks_allocated();

    const auto x = seam_input({4, 12, 12, 3});
    auto ctx_cpu = Ctx::train(11);
    auto ctx_test = Ctx::train(11);
    const auto y_cpu = on_cpu.forward(ctx_cpu, x);
    const auto y_test = on_test.forward(ctx_test, x.to<seam::counting>());
    REQUIRE(y_test.shape() == Shape{4, 5});
    CHECK(host(y_test) == host(y_cpu));

    const auto dy = seam_input(y_cpu.shape());
    const auto dx_cpu = on_cpu.backward(ctx_cpu, dy);
    const auto dx_test = on_test.backward(ctx_test, dy.to<seam::counting>());
    CHECK(host(dx_test) == host(dx_cpu));
    CHECK(grads_of(on_test) == grads_of(on_cpu));

    // every convolution, norm, pool and activation went through the device's table ...
    auto& log = seam::kernel_log();
    CHECK(log.of("conv2d_forward") == 6);  // stem + 2 + 2 in the blocks + 1 downsample
    CHECK(log.of("conv2d_backward") == 6);
    CHECK(log.of("batchnorm_forward") == 7);  // stem + 2 + 2 in the blocks + downsample + the head's 1d
    CHECK(log.of("batchnorm_backward") == 7);
    CHECK(log.of("maxpool2d_forward") == 1);
    CHECK(log.of("adaptive_pool_forward") == 2);  // max and avg halves of the concat pool
    CHECK(log.of("dropout_forward") == 1);
    CHECK(log.of("linear_forward") == 1);
    CHECK(log.of("linear_backward") == 1);
    CHECK(log.of("add_inplace") == 4);  // the residual sums, forward and backward
    // ... and its activations came from the device's allocator
    CHECK(seam::blocks_allocated() - allocated_before > 30);
  }
  CHECK(seam::blocks_live() == live_before);  // everything it allocated was given back
}

TEST_CASE("models, AnyModel and state dicts work on the test device", "[nn][device]") {
  auto m = models::make_model<models::archs<models::resnet18>, seam::counting>("resnet18", 3);
  static_assert(std::is_same_v<decltype(m), models::AnyModelOn<seam::counting>>);
  auto cpu_model = models::make_model<models::archs<models::resnet18>>("resnet18", 3);
  const auto st_test = models::state_dict(m);
  const auto st_cpu = models::state_dict(cpu_model);
  REQUIRE(st_test.tensors.size() == st_cpu.tensors.size());
  for (const auto& [name, t] : st_cpu.tensors) {
    INFO(name);
    REQUIRE(st_test.tensors.count(name) == 1);
    CHECK(st_test.tensors.at(name).bytes == t.bytes);
  }
  freeze(m);
  int frozen = 0;
  m.for_each_param([&](const std::string&, ParamOn<seam::counting>& p) { frozen += p.frozen; });
  CHECK(frozen > 0);
  models::load_state_dict(m, st_cpu);  // round trip through host copies
}

TEST_CASE("a training step on the test device: network, cross-entropy and backward", "[nn][device][loss]") {
  SmallResNet on_cpu(Build{Rng(5), 4});
  CountingResNet on_test(Build{Rng(5), 4});
  const auto x = seam_input({6, 10, 10, 3});
  auto targets = Tensor<std::int64_t>::from({6}, {0, 3, 1, 2, 3, 0});
  auto ctx_cpu = Ctx::train(2);
  auto ctx_test = Ctx::train(2);
  const FlatLoss<LossKind::cross_entropy, false, seam::counting> loss_test;  // CrossEntropyLossFlat on the device
  const CrossEntropyLossFlat loss_cpu;

  seam::kernel_log().clear();
  const auto out_test = loss_test(on_test.forward(ctx_test, x.to<seam::counting>()), targets.to<seam::counting>());
  const auto out_cpu = loss_cpu(on_cpu.forward(ctx_cpu, x), targets);
  CHECK(out_test.item() == out_cpu.item());
  CHECK(seam::kernel_log().of("softmax_cross_entropy") >= 1);  // the loss ran through the device's table

  const auto dlogits_test = out_test.backward();
  const auto dlogits_cpu = out_cpu.backward();
  static_assert(std::is_same_v<std::decay_t<decltype(dlogits_test)>, Tensor<float, seam::counting>>);
  CHECK(host(dlogits_test) == host(dlogits_cpu));
  on_test.backward(ctx_test, dlogits_test);
  on_cpu.backward(ctx_cpu, dlogits_cpu);
  CHECK(grads_of(on_test) == grads_of(on_cpu));

  // label smoothing and the one-pass forward_backward take the same path
  const FlatLoss<LossKind::cross_entropy, true, seam::counting> smooth_test;  // LabelSmoothingCrossEntropy
  const LabelSmoothingCrossEntropy smooth_cpu;
  auto logits = seam_input({6, 4});
  auto d_test = Tensor<float, seam::counting>::empty(logits.shape());
  auto d_cpu = Tensor<float>::empty(logits.shape());
  const auto l_test = smooth_test.forward_backward(logits.to<seam::counting>(), targets.to<seam::counting>(), d_test);
  const auto l_cpu = smooth_cpu.forward_backward(logits, targets, d_cpu);
  CHECK(host(l_test) == host(l_cpu));
  CHECK(host(d_test) == host(d_cpu));
}

// default_loss_t takes the device of the logits: a block's loss, rebuilt for the test device.
struct SingleLabelBlock {
  static constexpr LossKind default_loss_kind = LossKind::cross_entropy;
};
static_assert(std::is_same_v<default_loss_t<SingleLabelBlock>, CrossEntropyLossFlat>);
static_assert(std::is_same_v<default_loss_t<SingleLabelBlock, seam::counting>,
                             FlatLoss<LossKind::cross_entropy, false, seam::counting>>);
