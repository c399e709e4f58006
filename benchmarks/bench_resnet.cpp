// Where fastpp stands on the CPU (issue 21), measured the way benchmarks/compare/resnet_compare.py measures
// PyTorch:
//   models  torchvision's resnet18 and resnet34 (1000 classes, as torchvision.models.resnetXX() builds them)
//           at batch 32 x 224 px and batch 64 x 128 px, and the Fashion-MNIST recipe's small ResNet
//           (examples/pets.cpp's FashionResNet, 10 classes) at batch 256 x 28 px: eval-mode forward, and the
//           Learner's full training step (forward, fused cross-entropy, backward without the images' gradient,
//           Adam step, zero_grad).
//           Counters: images per second, the process's peak resident memory so far (peak_MiB, VmHWM: per
//           process, so the compare script runs each case in a process of its own) and its resident memory
//           before the case built its model (base_MiB).
//   convs   every distinct convolution of resnet18 at batch 32 x 224 px, through the cpu kernel table:
//           forward, backward data (dx only) and backward weights (dw only), in GFLOP/s, beside the project's
//           GEMM (backend/cpu/detail/gemm.hpp) on the same (M, N, K) as the convolution's forward product and
//           on a square product (the peak). A table with the percentages (from each function's fastest call)
//           follows the benchmark output.
//
//   bench_resnet [--threads=N (default 2)] [--iters=N (model cases' timed steps, default per case)]
//                [Google Benchmark flags: --benchmark_filter=resnet18/train ...]
//
// Each model case builds its model, runs one untimed step (the optimizer state, the layers' workspaces and
// the allocator's free lists are filled once, as in a training loop after its first batch), then times
// `iters` steps. One translation unit, three model types, each instantiated once (train and eval share one
// function): its compile time is part of the CI suite's budget (docs/speed.md).
#include "bench_main.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <fastpp/backend/cpu/layer_kernels.hpp>
#include <fastpp/learner/optimizer.hpp>
#include <fastpp/loss.hpp>
#include <fastpp/models.hpp>

#if defined(FASTPP_HAVE_OPENBLAS)
// OpenBLAS picks its kernels for the CPU it runs on (Debian builds it with DYNAMIC_ARCH); this names them.
extern "C" char* openblas_get_corename();
#endif

namespace {
using namespace fastpp;
using i64 = std::int64_t;

// The recipe's network, as examples/pets.cpp defines it for --arch fashion_resnet (keep the two equal;
// PyTorch's twin is SmallResNet in benchmarks/compare/fashion_compare.py).
using FashionResNet = nn::Sequential<nn::Conv2d<3, 16, nn::ConvOpts{.kernel = 3, .padding = 1, .bias = false}>,
                                     nn::BatchNorm2d<16>, nn::ReLU, nn::BasicBlock<16, 32, 2>, nn::BasicBlock<32, 64, 2>,
                                     nn::BasicBlock<64, 128, 2>, nn::AdaptiveAvgPool2d<1>, nn::Flatten,
                                     nn::Linear<128, nn::dyn>>;

// A /proc/self/status entry in MiB ("VmHWM:" the peak resident memory so far, "VmRSS:" the current one);
// ru_maxrss (the peak) where /proc is missing.
double status_mib(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(std::strlen(key))) / 1024.0;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}
double peak_rss_mib() { return status_mib("VmHWM:"); }

void fill_ramp(float* p, i64 n, i64 salt) {
  for (i64 i = 0; i < n; ++i) p[i] = static_cast<float>(((i + salt) * 7919) % 1000) * 1e-3f - 0.5f;
}

Tensor<float> ramp(const Shape& s) {
  auto t = Tensor<float>::empty(s);
  fill_ramp(t.data(), t.numel(), 0);
  return t;
}

int g_iters = 0;  // --iters; 0: each case's default

// One model case: eval-mode forward (no activations kept) or the Learner's training step.
template <class Model>
void model_case(benchmark::State& st, Model& model, i64 classes, i64 bs, i64 px, bool train) {
  const auto x = ramp({bs, px, px, 3});
  auto y = Tensor<std::int64_t>::empty({bs});
  for (i64 i = 0; i < bs; ++i) y.data()[i] = (i * 37) % classes;
  Adam opt(named_params(model), AdamOptions{});
  CrossEntropyLossFlat loss;
  Tensor<float> dlogits;
  const auto step = [&] {
    if (!train) {
      auto ctx = nn::Ctx::eval();
      auto out = model.forward(ctx, x);
      benchmark::DoNotOptimize(out.data());
      return;
    }
    auto ctx = nn::Ctx::train();
    ctx.input_grad = false;  // as the Learner: the images need no gradient (PyTorch computes none either)
    auto out = model.forward(ctx, x);
    if (!dlogits.defined()) dlogits = Tensor<float>::empty(out.shape());
    auto l = loss.forward_backward(out, y, dlogits);
    benchmark::DoNotOptimize(l.data());
    model.backward(ctx, dlogits);
    opt.step();
    opt.zero_grad();
  };
  step();  // untimed: first-call allocations (optimizer state, workspaces)
  for (auto _ : st) step();
  st.counters["img/s"] = benchmark::Counter(static_cast<double>(bs), benchmark::Counter::kIsIterationInvariantRate);
  st.counters["peak_MiB"] = peak_rss_mib();
}

// The cases, by name; each builds its model inside the case so a process running one case holds one model.
struct ModelCase {
  std::string arch;
  i64 bs, px;
  bool train;
  int iters;
};

void run_model_case(benchmark::State& st, const ModelCase& c) {
  st.counters["base_MiB"] = status_mib("VmRSS:");  // before the model: the program's own footprint
  if (c.arch == "resnet18") {
    auto m = models::make_torchvision_resnet<models::resnet18>(1000, 0);
    model_case(st, m, 1000, c.bs, c.px, c.train);
  } else if (c.arch == "resnet34") {
    auto m = models::make_torchvision_resnet<models::resnet34>(1000, 0);
    model_case(st, m, 1000, c.bs, c.px, c.train);
  } else {
    FashionResNet m(nn::Build{Rng(0), 10});
    model_case(st, m, 10, c.bs, c.px, c.train);
  }
}

// ---- convolutions and the GEMM ceiling --------------------------------------------------------------------

struct ConvShape {
  const char* name;  // the first resnet18 layer with this shape
  i64 cin, cout, k, stride, pad, h;
};
// Every distinct convolution of resnet18 (input side h x h), at batch 32 and 224 px.
constexpr ConvShape resnet18_convs[] = {
    {"conv1", 3, 64, 7, 2, 3, 224},
    {"layer1.0.conv1", 64, 64, 3, 1, 1, 56},
    {"layer2.0.conv1", 64, 128, 3, 2, 1, 56},
    {"layer2.0.downsample", 64, 128, 1, 2, 0, 56},
    {"layer2.0.conv2", 128, 128, 3, 1, 1, 28},
    {"layer3.0.conv1", 128, 256, 3, 2, 1, 28},
    {"layer3.0.downsample", 128, 256, 1, 2, 0, 28},
    {"layer3.0.conv2", 256, 256, 3, 1, 1, 14},
    {"layer4.0.conv1", 256, 512, 3, 2, 1, 14},
    {"layer4.0.downsample", 256, 512, 1, 2, 0, 14},
    {"layer4.0.conv2", 512, 512, 3, 1, 1, 7},
};
constexpr i64 conv_batch = 32;

backend::ConvGeom geom(const ConvShape& s) {
  return {conv_batch, s.h, s.h, s.cin, s.cout, s.k, s.k, s.stride, s.pad, 1, 1};
}
double conv_flops(const backend::ConvGeom& g) {
  return 2.0 * static_cast<double>(g.n * g.ho() * g.wo()) * static_cast<double>(g.cout) * static_cast<double>(g.k());
}

// The fastest call of each timed function (over all of Google Benchmark's runs of it), by key, for the table
// after the run: on a shared machine the fastest call is the best estimate of the quiet machine's speed, for
// the convolutions and their GEMM ceilings alike (Google Benchmark's own counters are means).
std::map<std::string, double> g_best_seconds;

template <class F>
void timed_loop(benchmark::State& st, const std::string& key, double flops, F&& f) {
  f();  // untimed: workspace sizing
  auto& best = g_best_seconds.try_emplace(key, 1e300).first->second;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

enum class Pass { fwd, bwd_data, bwd_weight };
const char* pass_name(Pass p) { return p == Pass::fwd ? "fwd" : p == Pass::bwd_data ? "bwd_data" : "bwd_weight"; }

void conv_case(benchmark::State& st, const ConvShape& s, Pass pass) {
  using K = backend::layer_kernels<cpu>;
  const auto g = geom(s);
  const i64 nx = g.n * g.h * g.w * g.cin, ny = g.n * g.ho() * g.wo() * g.cout, nw = g.cout * g.k();
  std::vector<float> x(static_cast<std::size_t>(nx)), w(static_cast<std::size_t>(nw)), y(static_cast<std::size_t>(ny));
  fill_ramp(x.data(), nx, 1);
  fill_ramp(w.data(), nw, 2);
  fill_ramp(y.data(), ny, 3);  // dy for the backward passes
  std::vector<float> out(static_cast<std::size_t>(pass == Pass::bwd_data ? nx : nw));
  K::workspace ws;
  timed_loop(st, std::string(pass_name(pass)) + "/" + s.name, conv_flops(g), [&] {
    if (pass == Pass::fwd) K::conv2d_forward(x.data(), w.data(), nullptr, g, y.data(), ws);
    else if (pass == Pass::bwd_data) K::conv2d_backward(x.data(), w.data(), y.data(), g, nullptr, nullptr, out.data(), ws);
    else K::conv2d_backward(x.data(), w.data(), y.data(), g, out.data(), nullptr, nullptr, ws);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  });
}

// The forward product's (M, N, K) = (N*Ho*Wo, Cout, kh*kw*Cin), C = A B^T as the convolution calls it, with M
// capped so A stays near 16 MB (the convolution itself never holds more than a chunk of columns).
struct GemmDims {
  i64 m, n, k;
};
GemmDims gemm_dims(const ConvShape& s) {
  const auto g = geom(s);
  const i64 rows = g.n * g.ho() * g.wo();
  return {std::min(rows, std::max<i64>(1024, (i64{1} << 22) / g.k())), g.cout, g.k()};
}

void gemm_case(benchmark::State& st, const std::string& key, GemmDims d) {
  std::vector<float> a(static_cast<std::size_t>(d.m * d.k)), b(static_cast<std::size_t>(d.n * d.k)),
      c(static_cast<std::size_t>(d.m * d.n));
  fill_ramp(a.data(), d.m * d.k, 4);
  fill_ramp(b.data(), d.n * d.k, 5);
  timed_loop(st, key, 2.0 * static_cast<double>(d.m) * static_cast<double>(d.n) * static_cast<double>(d.k), [&] {
    backend::cpu_detail::gemm(false, true, d.m, d.n, d.k, a.data(), d.k, b.data(), d.k, 0.0f, c.data(), d.n);
    benchmark::DoNotOptimize(c.data());
  });
}
constexpr GemmDims square_gemm{2048, 2048, 2048};

void register_all() {
  const int short_run = 2, long_run = 3;  // timed steps per case (after one untimed): a few minutes in all
  const std::vector<ModelCase> cases = {
      {"resnet18", 32, 224, false, long_run}, {"resnet18", 32, 224, true, short_run},
      {"resnet18", 64, 128, false, long_run}, {"resnet18", 64, 128, true, short_run},
      {"resnet34", 32, 224, false, short_run}, {"resnet34", 32, 224, true, short_run},
      {"resnet34", 64, 128, false, short_run}, {"resnet34", 64, 128, true, short_run},
      {"fashion_resnet", 256, 28, false, 20},   {"fashion_resnet", 256, 28, true, 15},
  };
  for (const auto& c : cases) {
    const std::string name = c.arch + (c.train ? "/train" : "/eval") + "/bs:" + std::to_string(c.bs) +
                             "/px:" + std::to_string(c.px);
    benchmark::RegisterBenchmark(name.c_str(), [c](benchmark::State& st) { run_model_case(st, c); })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(g_iters > 0 ? g_iters : c.iters)
        ->UseRealTime();
  }
  for (const auto& s : resnet18_convs) {
    for (Pass p : {Pass::fwd, Pass::bwd_data, Pass::bwd_weight})
      benchmark::RegisterBenchmark((std::string("conv/") + pass_name(p) + "/" + s.name).c_str(),
                                   [&s, p](benchmark::State& st) { conv_case(st, s, p); })
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.3)
          ->UseRealTime();
    const auto d = gemm_dims(s);
    benchmark::RegisterBenchmark((std::string("gemm/") + s.name).c_str(),
                                 [&s, d](benchmark::State& st) { gemm_case(st, std::string("gemm/") + s.name, d); })
        ->Unit(benchmark::kMillisecond)
        ->MinTime(0.3)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("gemm/square_2048", [](benchmark::State& st) { gemm_case(st, "gemm/square", square_gemm); })
      ->Unit(benchmark::kMillisecond)
      ->MinTime(0.5)
      ->UseRealTime();
}

// The convolutions' table: GFLOP/s of each pass and its share of the same-shape GEMM and of the square GEMM.
void print_conv_table(std::FILE* out) {
  const auto rate = [](const std::string& key, double flops) {
    const auto it = g_best_seconds.find(key);
    return it == g_best_seconds.end() ? -1.0 : flops / it->second / 1e9;
  };
  const double peak = rate("gemm/square", 2.0 * 2048.0 * 2048.0 * 2048.0);
  bool any = false;
  for (const auto& s : resnet18_convs) {
    const auto d = gemm_dims(s);
    const double ceiling = rate(std::string("gemm/") + s.name, 2.0 * static_cast<double>(d.m * d.n) * static_cast<double>(d.k));
    const double flops = conv_flops(geom(s));
    double r[3];
    bool have = false;
    for (Pass p : {Pass::fwd, Pass::bwd_data, Pass::bwd_weight}) {
      r[static_cast<int>(p)] = rate(std::string(pass_name(p)) + "/" + s.name, flops);
      have = have || r[static_cast<int>(p)] > 0;
    }
    if (!have) continue;
    if (!any) {
      std::fprintf(out, "\nresnet18 convolutions, batch %lld, 224 px, %d threads, fastest call of each: GFLOP/s and %% of the"
                        " same-shape GEMM (M x N x K of the forward product, M capped) / %% of the square %lld^3 GEMM"
                        " (%.1f GFLOP/s)\n",
                   static_cast<long long>(conv_batch), get_num_threads(), static_cast<long long>(square_gemm.m), peak);
      std::fprintf(out, "%-21s %-22s %8s %9s %20s %20s %20s\n", "layer", "cin>cout k/s @h", "GFLOP", "GEMM",
                   "fwd", "bwd_data", "bwd_weight");
      any = true;
    }
    char shape[64];
    std::snprintf(shape, sizeof shape, "%lld>%lld %lld/%lld @%lld", static_cast<long long>(s.cin),
                  static_cast<long long>(s.cout), static_cast<long long>(s.k), static_cast<long long>(s.stride),
                  static_cast<long long>(s.h));
    std::fprintf(out, "%-21s %-22s %8.2f %9.1f", s.name, shape, flops / 1e9, ceiling);
    for (double v : r) {
      char cell[64];
      if (v <= 0) std::snprintf(cell, sizeof cell, "-");
      else
        std::snprintf(cell, sizeof cell, "%.1f (%3.0f%%/%3.0f%%)", v, ceiling > 0 ? 100 * v / ceiling : 0.0,
                      peak > 0 ? 100 * v / peak : 0.0);
      std::fprintf(out, " %20s", cell);
    }
    std::fprintf(out, "\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Our own flags first (Google Benchmark refuses flags it does not know).
  int threads = 2;
  std::vector<char*> rest;
  bool console = true;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) threads = std::atoi(argv[i] + 10);
    else if (std::strncmp(argv[i], "--iters=", 8) == 0) g_iters = std::atoi(argv[i] + 8);
    else {
      if (std::strncmp(argv[i], "--benchmark_format=", 19) == 0 && std::strcmp(argv[i] + 19, "console") != 0)
        console = false;
      rest.push_back(argv[i]);
    }
  }
  if (threads < 1) {
    std::fprintf(stderr, "bench_resnet: --threads=%d, give 1 or more\n", threads);
    return 1;
  }
  fastpp::set_num_threads(threads);
  int n = static_cast<int>(rest.size());
  fastpp::bench::add_context();
  benchmark::AddCustomContext("fastpp_cpu_supports", __builtin_cpu_supports("avx512f") ? "avx512f avx2 fma"
                                                     : __builtin_cpu_supports("avx2")  ? "avx2 fma"
                                                                                       : "sse");
#if defined(FASTPP_HAVE_OPENBLAS)
  benchmark::AddCustomContext("fastpp_blas_core", openblas_get_corename());
#endif
  register_all();
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // After a JSON report the table goes to stderr, so stdout stays one JSON document.
  print_conv_table(console ? stdout : stderr);
  return 0;
}
