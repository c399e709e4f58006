// Speed of fastpp's layers on this machine (the speed issue tunes them; this reports where they stand):
// one ResNet-34 convolution forward+backward, and a full train step (forward + backward) of fastai's
// resnet50 model. This file is also the heaviest translation unit of the project: its compile time is
// the one docs/nn.md reports.
#include "bench_main.hpp"

#include <fastpp/models.hpp>

namespace {
using namespace fastpp;

Tensor<float> ramp(const Shape& s) {
  auto t = Tensor<float>::empty(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
  return t;
}

// layer2's 3x3 conv of ResNet-34 at 112 px input (28x28, 128 -> 128 channels), batch 8.
void BM_conv3x3_128_fwd_bwd(benchmark::State& st) {
  nn::Conv2d<128, 128, nn::ConvOpts{.kernel = 3, .padding = 1, .bias = false}> conv;
  const auto x = ramp({8, 28, 28, 128});
  auto ctx = nn::Ctx::train();
  for (auto _ : st) {
    auto y = conv.forward(ctx, x);
    benchmark::DoNotOptimize(conv.backward(ctx, y).data());
  }
  const double flops = 3.0 * 2.0 * 8 * 28 * 28 * 128 * 128 * 9;
  st.counters["GFLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_conv3x3_128_fwd_bwd)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();

// fastai's resnet50 model (body + head, 37 classes), batch 8 at 64 px: forward and backward.
void BM_resnet50_train_step(benchmark::State& st) {
  auto model = models::make_fastai_model<models::resnet50>(37, 0);
  const auto x = ramp({8, 64, 64, 3});
  auto ctx = nn::Ctx::train();
  for (auto _ : st) {
    nn::zero_grad(model);
    auto y = model.forward(ctx, x);
    benchmark::DoNotOptimize(model.backward(ctx, y).data());
  }
  st.counters["img/s"] = benchmark::Counter(8, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_resnet50_train_step)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

}  // namespace

FASTPP_BENCHMARK_MAIN()
