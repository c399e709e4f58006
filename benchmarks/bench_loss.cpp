// Loss kernels at the chapter's shapes and at shapes larger than the L3 cache, 1 and 2 threads.
// Bytes processed follow benchmarks/compare/loss_compare.py and the PyTorch baseline: logits-sized
// tensors touched (softmax/log_softmax: fwd 2, fwd+bwd 5; cross_entropy: fwd 1, fwd+bwd 2) plus the
// int64 targets. Outputs are caller-owned buffers allocated once (the _out forms), as a training loop
// uses them. Arguments: N, C, threads.
#include <cstring>
#include <fastpp/core/rng.hpp>
#include <fastpp/loss.hpp>

#include "bench_main.hpp"

namespace {

using fastpp::Tensor;

struct Inputs {
  Tensor<float> x, y, dy, dx;
  Tensor<std::int64_t> t;
  Tensor<float> loss, lse, grad;
  Inputs(std::int64_t n, std::int64_t c) {
    x = Tensor<float>::empty({n, c});
    fastpp::Rng rng(1);
    for (auto& v : x) v = static_cast<float>(rng.normal() * 3.0);
    dy = Tensor<float>::empty({n, c});
    for (auto& v : dy) v = static_cast<float>(rng.normal());
    y = Tensor<float>::zeros({n, c});
    dx = Tensor<float>::zeros({n, c});
    t = Tensor<std::int64_t>::empty({n});
    for (auto& v : t) v = static_cast<std::int64_t>(rng.below(static_cast<std::uint32_t>(c)));
    loss = Tensor<float>::zeros({1});
    lse = Tensor<float>::zeros({n});
    grad = Tensor<float>::full({1}, 1.0f);
  }
};

template <class F>
void run(benchmark::State& state, double logits_tensors, F&& f) {
  const std::int64_t n = state.range(0), c = state.range(1);
  fastpp::set_num_threads(static_cast<int>(state.range(2)));
  Inputs in(n, c);
  f(in);  // warm up: fault in every page
  for (auto _ : state) {
    f(in);
    benchmark::ClobberMemory();
  }
  const double bytes = logits_tensors * 4.0 * static_cast<double>(n * c) + 8.0 * static_cast<double>(n) *
                                                                             (logits_tensors < 2.5 ? 1.0 : 0.0);
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes * static_cast<double>(state.iterations())));
  state.counters["threads"] = static_cast<double>(state.range(2));
}

void BM_softmax_fwd(benchmark::State& s) { run(s, 2, [](Inputs& in) { fastpp::softmax_out(in.x, in.y); }); }
void BM_softmax_fwdbwd(benchmark::State& s) {
  run(s, 5, [](Inputs& in) {
    fastpp::softmax_out(in.x, in.y);
    fastpp::softmax_backward_out(in.y, in.dy, in.dx);
  });
}
void BM_log_softmax_fwd(benchmark::State& s) { run(s, 2, [](Inputs& in) { fastpp::log_softmax_out(in.x, in.y); }); }
void BM_log_softmax_fwdbwd(benchmark::State& s) {
  run(s, 5, [](Inputs& in) {
    fastpp::log_softmax_out(in.x, in.y);
    fastpp::log_softmax_backward_out(in.y, in.dy, in.dx);
  });
}
void BM_cross_entropy_fwd(benchmark::State& s) {
  run(s, 1, [](Inputs& in) { fastpp::cross_entropy_out(in.x, in.t, {}, in.loss, in.lse); });
}
// The training step: loss and gradient in one pass over the logits.
void BM_cross_entropy_fwdbwd(benchmark::State& s) {
  run(s, 2, [](Inputs& in) { fastpp::cross_entropy_forward_backward_out(in.x, in.t, {}, in.grad, in.loss, in.dx); });
}
// The same with a separate backward from the saved logsumexp (reads the logits twice: 3 tensors touched,
// counted as 2 like the fused case so the two compare directly).
void BM_cross_entropy_fwd_then_bwd(benchmark::State& s) {
  run(s, 2, [](Inputs& in) {
    fastpp::cross_entropy_out(in.x, in.t, {}, in.loss, in.lse);
    fastpp::cross_entropy_backward_out(in.x, in.t, {}, in.lse, in.grad, in.dx);
  });
}

// The machine's copy bandwidth in this process (read + write counted), to compare the kernels with.
void BM_copy(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  fastpp::set_num_threads(static_cast<int>(state.range(1)));
  auto a = Tensor<float>::full({n}, 1.0f), b = Tensor<float>::zeros({n});
  for (auto _ : state) {
    fastpp::parallel_for(0, n, 1 << 20, [&](std::int64_t lo, std::int64_t hi) {
      std::memcpy(b.data() + lo, a.data() + lo, static_cast<std::size_t>(hi - lo) * sizeof(float));
    });
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(8.0 * static_cast<double>(n) * static_cast<double>(state.iterations())));
}

void shapes(benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2})
    for (auto [n, c] : {std::pair{64, 37}, {256, 37}, {4096, 1000}, {16384, 1000}, {262144, 37}})
      b->Args({n, c, threads});
  b->ArgNames({"N", "C", "threads"})->UseRealTime();
}

}  // namespace

BENCHMARK(BM_softmax_fwd)->Apply(shapes);
BENCHMARK(BM_softmax_fwdbwd)->Apply(shapes);
BENCHMARK(BM_log_softmax_fwd)->Apply(shapes);
BENCHMARK(BM_log_softmax_fwdbwd)->Apply(shapes);
BENCHMARK(BM_cross_entropy_fwd)->Apply(shapes);
BENCHMARK(BM_cross_entropy_fwdbwd)->Apply(shapes);
BENCHMARK(BM_cross_entropy_fwd_then_bwd)->Apply(shapes);
BENCHMARK(BM_copy)->Args({64 << 20, 1})->Args({64 << 20, 2})->ArgNames({"floats", "threads"})->UseRealTime();

FASTPP_BENCHMARK_MAIN();
