// Times ResNet-50's training step on a GPU (issue 23): batch 128 at 224x224, 1000 classes, the Learner's
// step (forward, fused cross-entropy on float logits, backward without the images' gradient, Adam step,
// zero_grad) on the learner's kind of stream, for a float model and for models with half and bfloat16
// activations (float parameters: the Learner's to_fp16 path, backend/mixed_layer_kernels.hpp; half with
// loss scaling, bfloat16 without, as PyTorch's AMP). Wall-clock time per step after two untimed steps (cuDNN
// chooses its algorithms on the first), median of the timed ones, the stream synchronised around each.
// scripts/gpu-check.sh runs it; PyTorch's figure comes from benchmarks/compare/resnet50_gpu.py in the same
// run. Without a GPU it says so and exits 0.
//   fastpp_bench_cuda_resnet50 [steps (default 6)] [batch (default 128)]
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <type_traits>
#include <fastpp/backend/cuda.hpp>
#include <fastpp/learner.hpp>
#include <fastpp/models.hpp>
#include <vector>

using namespace fastpp;

namespace {

template <class Model>
double median_step_ms(Model& model, int steps, std::int64_t bs) {
  using T = typename Model::value_type;
  backend::execution_context<cuda> exec;
  backend::execution_context<cuda>::scope on_stream(exec);
  auto xh = Tensor<float, cpu>::empty({bs, 224, 224, 3});
  for (std::int64_t i = 0; i < xh.numel(); ++i) xh.data()[i] = static_cast<float>((i * 7919) % 255) / 127.0f - 1.0f;
  auto yh = Tensor<std::int64_t, cpu>::empty({bs});
  for (std::int64_t i = 0; i < bs; ++i) yh.data()[i] = (i * 37) % 1000;
  const auto x = backend::cast_on_device<T>(xh.to<cuda>());
  const auto y = yh.to<cuda>();
  AdamOn<cuda> opt(named_params(model), AdamOptions{});
  FlatLoss<LossKind::cross_entropy, false, cuda> loss;
  Tensor<float, cuda> dlogits;
  std::optional<LossScaler> scaler;
  if constexpr (std::is_same_v<T, half>) scaler.emplace();
  const auto step = [&] {
    auto ctx = nn::Ctx::train();
    ctx.input_grad = false;
    const auto out = backend::cast_on_device<float>(model.forward(ctx, x));
    if (!dlogits.defined()) dlogits = Tensor<float, cuda>::empty(out.shape());
    (void)loss.forward_backward(out, y, dlogits);
    if (scaler)
      backend::optim_kernels<cuda>::unscale_and_check_finite(dlogits.data(), dlogits.numel(),
                                                            static_cast<float>(scaler->scale()));
    model.backward(ctx, backend::cast_on_device<T>(dlogits));
    const bool finite = !scaler || scaler->unscale_and_check(model);
    if (finite) opt.step();
    if (scaler) scaler->update(!finite);
    opt.zero_grad();
    exec.stream.synchronize();
  };
  step();
  step();
  std::vector<double> ms;
  for (int s = 0; s < steps; ++s) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: the ResNet-50 benchmark has nothing to time\n");
    return 0;
  }
  const int steps = argc > 1 ? std::atoi(argv[1]) : 6;
  const std::int64_t bs = argc > 2 ? std::atoll(argv[2]) : 128;
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  std::printf("ResNet-50 training step, batch %lld at 224x224, 1000 classes, Adam; %s; median of %d steps\n",
              static_cast<long long>(bs), prop.name, steps);
  const auto report = [&](const char* name, auto model) {
    const double ms = median_step_ms(model, steps, bs);
    std::printf("%-9s %9.1f ms/step %9.1f img/s\n", name, ms, static_cast<double>(bs) * 1000.0 / ms);
    std::fflush(stdout);
  };
  report("float", models::make_torchvision_resnet<models::resnet50, cuda>(1000, 0));
  report("fp16", models::make_torchvision_resnet<models::resnet50, cuda, half>(1000, 0));
  report("bfloat16", models::make_torchvision_resnet<models::resnet50, cuda, bfloat16>(1000, 0));
  return 0;
}
