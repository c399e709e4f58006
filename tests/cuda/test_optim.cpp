// Runs on a GPU machine only. The optimizer kernels of fastpp::cuda (src/cuda/optim.cu) against
// backend/optim_math.hpp's expressions evaluated on the host one rounded operation at a time (the GPU's
// promise: the same bits), and against the cpu kernels (optim_kernels<cpu>): the same bits where this
// test's build has no FMA, else within 1e-5 relative (the cpu build fuses some multiply-adds there, see
// tests/nn/test_layer_isa.cpp). Adam and SGD over many steps with a changing learning rate, decoupled and
// coupled weight decay, momentum on and off; the finite check with and without an inf or NaN gradient;
// the multi-tensor steps against the per-tensor ones, bit for bit, over lists that need several launches.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fastpp/backend/cpu/optim_kernels.hpp>
#include <fastpp/backend/cuda/optim.hpp>
#include <fastpp/backend/optim_math.hpp>
#include <fastpp/core.hpp>
#include <limits>
#include <random>
#include <vector>

using namespace fastpp;

namespace optim_test {

using i64 = std::int64_t;
using CpuOptim = backend::optim_kernels<cpu>;

#if defined(__FMA__)
constexpr double cpu_rel = 1e-5;
#else
constexpr double cpu_rel = 0.0;
#endif

// Each operation rounded to float on its own: a volatile store stands between it and the next, so the
// compiler cannot fuse a multiply into an add (what the GPU's __fmul_rn/__fadd_rn promise there).
struct StrictOps {
  static float mul(float a, float b) {
    volatile float r = a * b;
    return r;
  }
  static float add(float a, float b) {
    volatile float r = a + b;
    return r;
  }
  static float sub(float a, float b) {
    volatile float r = a - b;
    return r;
  }
  static float div(float a, float b) {
    volatile float r = a / b;
    return r;
  }
  static float sqrt(float a) {
    volatile float r = std::sqrt(a);
    return r;
  }
};

Tensor<float, cuda> dev(const std::vector<float>& v) {
  return Tensor<float>::from({static_cast<i64>(v.size())}, v).to<cuda>();
}
std::vector<float> host(const Tensor<float, cuda>& t) {
  const auto h = t.to<cpu>();
  return std::vector<float>(h.data(), h.data() + h.numel());
}
std::vector<float> random_floats(i64 n, std::mt19937& gen, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = d(gen);
  return v;
}

bool same(float a, float b) { return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof(float)) == 0; }

void check_same(const std::vector<float>& gpu, const std::vector<float>& ref, const char* what) {
  REQUIRE(gpu.size() == ref.size());
  std::size_t bad = 0, first = 0;
  for (std::size_t k = 0; k < ref.size(); ++k)
    if (!same(gpu[k], ref[k])) first = bad++ == 0 ? k : first;
  INFO(what << ": " << bad << " of " << ref.size() << " differ in bits; first at " << first << ": gpu "
            << (bad ? gpu[first] : 0.0f) << ", reference " << (bad ? ref[first] : 0.0f));
  CHECK(bad == 0);
}
void check_close(const std::vector<float>& gpu, const std::vector<float>& ref, double rel, const char* what) {
  if (rel == 0.0) return check_same(gpu, ref, what);
  REQUIRE(gpu.size() == ref.size());
  std::size_t bad = 0, first = 0;
  for (std::size_t k = 0; k < ref.size(); ++k) {
    const double g = gpu[k], r = ref[k];
    if (!(std::abs(g - r) <= rel * std::max(std::abs(r), 1e-3))) first = bad++ == 0 ? k : first;
  }
  INFO(what << ": " << bad << " of " << ref.size() << " differ; first at " << first << ": gpu "
            << (bad ? gpu[first] : 0.0f) << ", cpu " << (bad ? ref[first] : 0.0f));
  CHECK(bad == 0);
}

// fastai's schedule-like learning rates: a different lr each step.
double lr_at(int step) { return 1e-3 * (1.0 + 0.37 * step); }

const i64 sizes[] = {1, 2, 37, 1000, 4099, 300001};

}  // namespace optim_test

using namespace optim_test;

TEST_CASE("cuda adam_step: the bits of the shared expressions, the cpu kernel's values", "[cuda]") {
  std::mt19937 gen(21);
  for (const i64 n : sizes) {
    for (const double wd : {0.0, 0.01}) {
      for (const bool decouple : {true, false}) {
        INFO("n " << n << ", wd " << wd << ", decouple " << decouple);
        auto p = random_floats(n, gen, -1.0f, 1.0f), ga = random_floats(n, gen, -0.1f, 0.1f),
             sa = random_floats(n, gen, 0.0f, 0.01f);
        auto p_c = p, ga_c = ga, sa_c = sa;  // the cpu kernel
        auto p_d = dev(p), ga_d = dev(ga), sa_d = dev(sa);
        for (int step = 1; step <= 6; ++step) {
          const auto g = random_floats(n, gen, -1.0f, 1.0f);
          const double lr = lr_at(step), mom = 0.9, sqr_mom = 0.99, eps = 1e-5;
          const double d1 = 1 - std::pow(mom, step), d2 = 1 - std::pow(sqr_mom, step);
          const backend::AdamConsts c(lr, mom, sqr_mom, eps, wd, decouple, d1, d2);
          for (i64 i = 0; i < n; ++i) {
            const auto e = backend::adam_element<StrictOps>(p[i], g[i], ga[i], sa[i], c);
            p[i] = e.p, ga[i] = e.grad_avg, sa[i] = e.sqr_avg;
          }
          CpuOptim::adam_step(p_c.data(), g.data(), ga_c.data(), sa_c.data(), n, lr, mom, sqr_mom, eps, wd, decouple,
                              d1, d2);
          const auto g_d = dev(g);
          cuda_kernels::adam_step(p_d.data(), g_d.data(), ga_d.data(), sa_d.data(), n, lr, mom, sqr_mom, eps, wd,
                                  decouple, d1, d2);
        }
        const auto pg = host(p_d), gag = host(ga_d), sag = host(sa_d);
        check_same(pg, p, "p");
        check_same(gag, ga, "grad_avg");
        check_same(sag, sa, "sqr_avg");
        check_close(pg, p_c, cpu_rel * 6, "p against the cpu kernel");
        check_close(gag, ga_c, cpu_rel * 6, "grad_avg against the cpu kernel");
        check_close(sag, sa_c, cpu_rel * 6, "sqr_avg against the cpu kernel");
      }
    }
  }
}

TEST_CASE("cuda sgd_step: the bits of the shared expressions, the cpu kernel's values", "[cuda]") {
  std::mt19937 gen(22);
  for (const i64 n : sizes) {
    for (const bool momentum : {true, false}) {
      for (const bool decouple : {true, false}) {
        INFO("n " << n << ", momentum " << momentum << ", decouple " << decouple);
        auto p = random_floats(n, gen, -1.0f, 1.0f), ga = random_floats(n, gen, -0.1f, 0.1f);
        auto p_c = p, ga_c = ga;
        auto p_d = dev(p), ga_d = dev(ga);
        const double mom = momentum ? 0.9 : 0.0, wd = 0.01;
        for (int step = 1; step <= 6; ++step) {
          const auto g = random_floats(n, gen, -1.0f, 1.0f);
          const double lr = 100 * lr_at(step);
          const backend::SgdConsts c(lr, mom, wd, decouple);
          for (i64 i = 0; i < n; ++i) {
            if (momentum) {
              const auto e = backend::sgd_momentum_element<StrictOps>(p[i], g[i], ga[i], c);
              p[i] = e.p, ga[i] = e.grad_avg;
            } else {
              p[i] = backend::sgd_plain_element<StrictOps>(p[i], g[i], c);
            }
          }
          CpuOptim::sgd_step(p_c.data(), g.data(), momentum ? ga_c.data() : nullptr, n, lr, mom, wd, decouple);
          const auto g_d = dev(g);
          cuda_kernels::sgd_step(p_d.data(), g_d.data(), momentum ? ga_d.data() : nullptr, n, lr, mom, wd, decouple);
        }
        const auto pg = host(p_d), gag = host(ga_d);
        check_same(pg, p, "p");
        check_same(gag, ga, "grad_avg (untouched without momentum)");
        check_close(pg, p_c, cpu_rel * 6, "p against the cpu kernel");
        check_close(gag, ga_c, cpu_rel * 6, "grad_avg against the cpu kernel");
      }
    }
  }
}

TEST_CASE("cuda unscale_and_check_finite: the cpu's scaled gradients and answer", "[cuda]") {
  std::mt19937 gen(23);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (const i64 n : sizes) {
    INFO("n " << n);
    const auto g = random_floats(n, gen, -1e3f, 1e3f);
    const auto run = [&](std::vector<float> gg, float inv_scale, bool expect) {
      auto g_d = dev(gg);
      const bool ok_g = cuda_kernels::unscale_and_check_finite(g_d.data(), n, inv_scale);
      const bool ok_c = CpuOptim::unscale_and_check_finite(gg.data(), n, inv_scale);
      CHECK(ok_c == expect);
      CHECK(ok_g == expect);
      check_same(host(g_d), gg, "scaled g");  // one multiplication: the same bits everywhere
    };
    run(g, 1.0f / 1024.0f, true);
    auto with_inf = g;
    with_inf[static_cast<std::size_t>(n - 1)] = inf;  // at the end: the last block's last thread
    run(with_inf, 0.5f, false);
    auto with_nan = g;
    with_nan[static_cast<std::size_t>(n / 2)] = nan;
    run(with_nan, 0.5f, false);
    auto huge = g;
    huge[0] = 3e38f;  // finite, but not once scaled
    run(huge, 2.0f, false);
  }
}

TEST_CASE("cuda zero writes zeros", "[cuda]") {
  for (const i64 n : sizes) {
    auto p_d = Tensor<float>::full({n}, std::numeric_limits<float>::quiet_NaN()).to<cuda>();
    cuda_kernels::zero(p_d.data(), n);
    check_same(host(p_d), std::vector<float>(static_cast<std::size_t>(n), 0.0f), "zeros");
  }
}

TEST_CASE("cuda adam_step_many and sgd_step_many give the per-tensor steps' bits", "[cuda]") {
  std::mt19937 gen(24);
  // 200 tensors, mostly small as in a ResNet, some over a chunk (65536) and one over 320 chunks: several
  // launches (36 tensors, 320 chunks a launch), a tensor split over two lists, empty tensors skipped
  std::vector<i64> ns;
  const i64 pattern[] = {64, 64, 36864, 1, 0, 65536, 65537, 512, 7, 147456};
  for (int k = 0; k < 200; ++k) ns.push_back(k == 100 ? 25000001 : pattern[k % 10]);  // 382 chunks: 2 lists
  struct State {
    Tensor<float, cuda> p, g, ga, sa, p2, ga2, sa2;
  };
  std::vector<State> st;
  for (const i64 n : ns) {
    const auto p = random_floats(n, gen, -1.0f, 1.0f), g = random_floats(n, gen, -1.0f, 1.0f),
               ga = random_floats(n, gen, -0.1f, 0.1f), sa = random_floats(n, gen, 0.0f, 0.01f);
    if (n == 0) {
      st.push_back({});
      continue;
    }
    st.push_back({dev(p), dev(g), dev(ga), dev(sa), dev(p), dev(ga), dev(sa)});
  }
  const auto data = [](Tensor<float, cuda>& t) { return t.numel() ? t.data() : nullptr; };
  for (int step = 1; step <= 3; ++step) {
    const double lr = lr_at(step), d1 = 1 - std::pow(0.9, step), d2 = 1 - std::pow(0.99, step);
    std::vector<cuda_kernels::AdamTensor> list;
    for (std::size_t k = 0; k < ns.size(); ++k) {
      State& s = st[k];
      list.push_back({data(s.p2), data(s.g), data(s.ga2), data(s.sa2), ns[k]});
      if (ns[k]) cuda_kernels::adam_step(s.p.data(), s.g.data(), s.ga.data(), s.sa.data(), ns[k], lr, 0.9, 0.99, 1e-5,
                                         0.01, step % 2 == 0, d1, d2);
    }
    cuda_kernels::adam_step_many(list.data(), static_cast<i64>(list.size()), lr, 0.9, 0.99, 1e-5, 0.01,
                                 step % 2 == 0, d1, d2);
  }
  for (std::size_t k = 0; k < ns.size(); ++k) {
    if (!ns[k]) continue;
    INFO("adam tensor " << k << ", n " << ns[k]);
    check_same(host(st[k].p2), host(st[k].p), "p");
    check_same(host(st[k].ga2), host(st[k].ga), "grad_avg");
    check_same(host(st[k].sa2), host(st[k].sa), "sqr_avg");
  }
  // SGD, every third tensor without momentum
  for (int step = 1; step <= 3; ++step) {
    const double lr = 100 * lr_at(step);
    std::vector<cuda_kernels::SgdTensor> list;
    for (std::size_t k = 0; k < ns.size(); ++k) {
      State& s = st[k];
      const bool momentum = k % 3 != 0;
      list.push_back({data(s.p2), data(s.g), momentum ? data(s.ga2) : nullptr, ns[k]});
      if (ns[k])
        cuda_kernels::sgd_step(s.p.data(), s.g.data(), momentum ? s.ga.data() : nullptr, ns[k], lr, 0.9, 0.01,
                               step == 2);
    }
    cuda_kernels::sgd_step_many(list.data(), static_cast<i64>(list.size()), lr, 0.9, 0.01, step == 2);
  }
  for (std::size_t k = 0; k < ns.size(); ++k) {
    if (!ns[k]) continue;
    INFO("sgd tensor " << k << ", n " << ns[k]);
    check_same(host(st[k].p2), host(st[k].p), "p");
    check_same(host(st[k].ga2), host(st[k].ga), "grad_avg");
  }
}

TEST_CASE("cuda optimizer kernels loop past their grid (65536 blocks of 256 threads)", "[cuda]") {
  std::mt19937 gen(25);
  const i64 n = (i64{1} << 24) + 77;
  auto p = random_floats(n, gen, -1.0f, 1.0f), ga = random_floats(n, gen, -0.1f, 0.1f),
       sa = random_floats(n, gen, 0.0f, 0.01f);
  const auto g = random_floats(n, gen, -1.0f, 1.0f);
  auto p_d = dev(p), ga_d = dev(ga), sa_d = dev(sa), g_d = dev(g);
  const backend::AdamConsts c(1e-3, 0.9, 0.99, 1e-5, 0.01, true, 0.1, 0.01);
  for (i64 i = 0; i < n; ++i) {
    const auto e = backend::adam_element<StrictOps>(p[i], g[i], ga[i], sa[i], c);
    p[i] = e.p, ga[i] = e.grad_avg, sa[i] = e.sqr_avg;
  }
  cuda_kernels::adam_step(p_d.data(), g_d.data(), ga_d.data(), sa_d.data(), n, 1e-3, 0.9, 0.99, 1e-5, 0.01, true, 0.1,
                          0.01);
  check_same(host(p_d), p, "p");
  check_same(host(sa_d), sa, "sqr_avg");
  auto with_inf = g;
  with_inf.back() = std::numeric_limits<float>::infinity();
  auto inf_d = dev(with_inf);
  CHECK_FALSE(cuda_kernels::unscale_and_check_finite(inf_d.data(), n, 0.5f));
  cuda_kernels::zero(p_d.data(), n);
  check_same(host(p_d), std::vector<float>(static_cast<std::size_t>(n), 0.0f), "zeros");
}
