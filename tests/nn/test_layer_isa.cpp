// The layer and optimizer kernels run their loops in an AVX2 build or the baseline one (backend/cpu/detail/
// layer_isa.hpp). Both builds compute the same expressions without FMA, so each kernel must give the same
// bits either way: every case runs the kernel with layer_use_avx2() true and false on the same inputs
// (sizes that are not multiples of 8, in place where the kernel allows it) and compares the bytes.
// Meaningful in a build for plain x86-64 (FASTPP_ARCH=x86-64), where the baseline loops use SSE2 only;
// in the default x86-64-v3 build both are AVX2 builds and the cases check the dispatch's plumbing (and
// Adam, whose two loops differ in source, within a tolerance: see its case).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <fastpp/backend/cpu/layer_kernels.hpp>
#include <fastpp/backend/cpu/optim_kernels.hpp>

#include "../support/skip.hpp"

namespace cd = fastpp::backend::cpu_detail;
using fastpp::backend::PoolGeom;
using i64 = std::int64_t;

namespace {

std::vector<float> random_floats(i64 n, unsigned seed, float lo = -2.0f, float hi = 2.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = d(gen);
  for (std::size_t i = 0; i < v.size(); i += 7) v[i] = 0.0f;  // relu's and maxpool's ties
  return v;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Within `rel` of each other, relative to the larger magnitude (NaNs where both have them).
bool close(const std::vector<float>& a, const std::vector<float>& b, float rel) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) {
      if (!(std::isnan(a[i]) && std::isnan(b[i]))) return false;
    } else if (std::fabs(a[i] - b[i]) > rel * std::max(std::fabs(a[i]), std::fabs(b[i]))) {
      return false;
    }
  }
  return true;
}

// Runs `run` (which returns its outputs) with the AVX2 loops and with the baseline ones, restoring the flag,
// and expects the same bits (rel == 0) or values within `rel`.
template <class Run>
void expect_same_both_ways(Run run, float rel = 0.0f) {
  if (!cd::cpu_has_avx2_fma()) FASTPP_SKIP("this CPU has no AVX2 + FMA (or FASTPP_CPU_ISA=baseline)");
  bool& use = cd::layer_use_avx2();
  const bool before = use;
  use = true;
  const auto avx2 = run();
  use = false;
  const auto baseline = run();
  use = before;
  REQUIRE(avx2.size() == baseline.size());
  for (std::size_t k = 0; k < avx2.size(); ++k) {
    INFO("output " << k);
    if (rel == 0.0f) CHECK(same_bits(avx2[k], baseline[k]));
    else CHECK(close(avx2[k], baseline[k], rel));
  }
}

using Outs = std::vector<std::vector<float>>;

}  // namespace

TEST_CASE("element-wise kernels: the same bits from the AVX2 and the baseline loops", "[isa]") {
  for (const i64 n : {i64{1}, i64{13}, i64{1003}, i64{70001}}) {  // 70001: several parallel_for chunks
    INFO("n = " << n);
    const auto x = random_floats(n, 1), y = random_floats(n, 2);
    expect_same_both_ways([&] {
      Outs out(7, std::vector<float>(static_cast<std::size_t>(n)));
      cd::relu_forward(x.data(), n, out[0].data());
      out[1] = x;
      cd::relu_forward(out[1].data(), n, out[1].data());  // in place
      cd::relu_backward(out[0].data(), y.data(), n, out[2].data());
      out[3] = x;
      cd::add_inplace(out[3].data(), y.data(), n);
      cd::multiply(x.data(), y.data(), n, out[4].data());
      out[5] = x;
      cd::multiply(out[5].data(), y.data(), n, out[5].data());  // in place
      out[6] = y;
      cd::relu_backward(out[0].data(), out[6].data(), n, out[6].data());  // dx over dy
      return out;
    });
  }
}

TEST_CASE("batch norm kernels: the same bits from the AVX2 and the baseline loops", "[isa]") {
  // rows x channels: channels below, at and above a vector's width; rows over one 1024-row chunk
  for (const auto& shape : {std::pair<i64, i64>{5, 3}, {37, 13}, {2500, 19}, {301, 64}}) {
    const i64 rows = shape.first, c = shape.second;  // not a structured binding: clang 14 cannot capture one
    INFO("rows = " << rows << ", c = " << c);
    const auto x = random_floats(rows * c, 3, -1.0f, 3.0f), dy = random_floats(rows * c, 4);
    const auto gamma = random_floats(c, 5, 0.5f, 1.5f), beta = random_floats(c, 6);
    expect_same_both_ways([&] {
      const auto n = static_cast<std::size_t>(rows * c), nc = static_cast<std::size_t>(c);
      Outs out;
      std::vector<double> mean, var;
      cd::channel_mean_var(x.data(), rows, c, mean, var);
      out.emplace_back(mean.size() * 2);  // the doubles' bytes, as floats
      std::memcpy(out.back().data(), mean.data(), mean.size() * sizeof(double));
      out.emplace_back(var.size() * 2);
      std::memcpy(out.back().data(), var.data(), var.size() * sizeof(double));
      for (const bool training : {true, false}) {
        std::vector<float> rm = random_floats(c, 7, -0.1f, 0.1f), rv = random_floats(c, 8, 0.5f, 1.5f);
        std::vector<float> y(n), xhat(n), invstd(nc);
        cd::batchnorm_forward(x.data(), rows, c, training, 0.1f, 1e-5f, gamma.data(), beta.data(), rm.data(),
                              rv.data(), y.data(), xhat.data(), invstd.data());
        std::vector<float> y_in_place = x, rm2 = rm, rv2 = rv, invstd2(nc);  // y over x, no xhat
        cd::batchnorm_forward(y_in_place.data(), rows, c, false, 0.1f, 1e-5f, gamma.data(), beta.data(),
                              rm2.data(), rv2.data(), y_in_place.data(), nullptr, invstd2.data());
        for (const bool frozen : {false, true}) {
          std::vector<float> dgamma(nc, 0.5f), dbeta(nc, -0.5f), dx(n);
          cd::batchnorm_backward(xhat.data(), dy.data(), rows, c, gamma.data(), invstd.data(), frozen,
                                 dgamma.data(), dbeta.data(), dx.data());
          std::vector<float> dx_in_place = dy;  // dx over dy
          cd::batchnorm_backward(xhat.data(), dx_in_place.data(), rows, c, gamma.data(), invstd.data(), frozen,
                                 nullptr, nullptr, dx_in_place.data());
          for (auto* v : {&dgamma, &dbeta, &dx, &dx_in_place}) out.push_back(*v);
        }
        for (auto* v : {&y, &xhat, &invstd, &rm, &rv, &y_in_place}) out.push_back(*v);
      }
      return out;
    });
  }
}

namespace {
// PyTorch's max pooling written plainly, one channel at a time: the first maximum in (i, j) order, a NaN
// taking the place of whatever came before it (padding is -inf).
void maxpool_reference(const std::vector<float>& x, const PoolGeom& g, std::vector<float>& y,
                       std::vector<std::int32_t>& arg) {
  const i64 ho = g.ho(), wo = g.wo();
  y.assign(static_cast<std::size_t>(g.n * ho * wo * g.c), 0.0f);
  arg.assign(y.size(), 0);
  for (i64 img = 0; img < g.n; ++img)
    for (i64 oy = 0; oy < ho; ++oy)
      for (i64 ox = 0; ox < wo; ++ox)
        for (i64 ch = 0; ch < g.c; ++ch) {
          float best = -std::numeric_limits<float>::infinity();
          i64 a = -1;
          for (i64 i = 0; i < g.kh; ++i)
            for (i64 j = 0; j < g.kw; ++j) {
              const i64 y0 = oy * g.stride - g.pad + i, x0 = ox * g.stride - g.pad + j;
              if (y0 < 0 || y0 >= g.h || x0 < 0 || x0 >= g.w) continue;
              const i64 at = (y0 * g.w + x0) * g.c + ch;
              const float v = x[static_cast<std::size_t>(img * g.h * g.w * g.c + at)];
              if (v > best || a < 0 || std::isnan(v)) {
                best = v;
                a = at;
              }
            }
          const auto o = static_cast<std::size_t>(((img * ho + oy) * wo + ox) * g.c + ch);
          y[o] = best;
          arg[o] = static_cast<std::int32_t>(a);
        }
}
}  // namespace

TEST_CASE("pooling kernels: the same bits from the AVX2 and the baseline loops", "[isa]") {
  // {n, h, w, c, kh, kw, stride, pad}: ResNet's stem pool (3, 2, 1) and others, channels not a multiple of 8
  for (const PoolGeom& g : {PoolGeom{2, 9, 7, 13, 3, 3, 2, 1}, PoolGeom{3, 8, 8, 3, 2, 2, 2, 0},
                            PoolGeom{1, 11, 6, 21, 3, 2, 1, 1}, PoolGeom{2, 5, 5, 8, 5, 5, 1, 2}}) {
    INFO("n h w c = " << g.n << ' ' << g.h << ' ' << g.w << ' ' << g.c << ", k " << g.kh << 'x' << g.kw
                      << ", stride " << g.stride << ", pad " << g.pad);
    const i64 in = g.n * g.h * g.w * g.c, out_n = g.n * g.ho() * g.wo() * g.c;
    auto x = random_floats(in, 9);
    x[5] = std::numeric_limits<float>::quiet_NaN();  // NaN wins its windows
    x[static_cast<std::size_t>(in / 2)] = std::numeric_limits<float>::quiet_NaN();
    const auto dy = random_floats(out_n, 10);
    std::vector<float> ref_y;
    std::vector<std::int32_t> ref_arg;
    maxpool_reference(x, g, ref_y, ref_arg);
    expect_same_both_ways([&] {
      Outs out(4);
      out[0].resize(static_cast<std::size_t>(out_n));
      std::vector<std::int32_t> arg(static_cast<std::size_t>(out_n));
      cd::maxpool2d_forward(x.data(), g, out[0].data(), arg.data());
      CHECK(same_bits(out[0], ref_y));  // the channels-inner loop keeps the reference's choices
      CHECK(arg == ref_arg);
      out[1].resize(static_cast<std::size_t>(out_n));
      cd::avgpool2d(x.data(), g, false, out[1].data());
      out[2].resize(static_cast<std::size_t>(in));
      cd::avgpool2d(dy.data(), g, true, out[2].data());
      out[3].resize(arg.size());
      std::memcpy(out[3].data(), arg.data(), arg.size() * sizeof(std::int32_t));
      return out;
    });
  }
}

TEST_CASE("optimizer kernels: the same bits from the AVX2 and the baseline loops", "[isa]") {
  // Adam's AVX2 loop is written in intrinsics, its baseline one in plain C++. Where the build allows FMA
  // (x86-64-v3, the project's default) the compilers fuse multiply-adds in both, but pair them differently,
  // so the two round differently in the last bits: there, a relative tolerance of 1e-5 (3 steps' drift,
  // about 10 float ulps). Without FMA in the build (plain x86-64, the case the dispatch is for) the bits.
#if defined(__FMA__)
  constexpr float adam_rel = 1e-5f;
#else
  constexpr float adam_rel = 0.0f;
#endif
  for (const i64 n : {i64{3}, i64{8}, i64{29}, i64{1037}}) {
    INFO("n = " << n);
    const auto p0 = random_floats(n, 11), g = random_floats(n, 12), ga0 = random_floats(n, 13, -0.1f, 0.1f);
    const auto sa0 = random_floats(n, 14, 0.0f, 0.01f);
    expect_same_both_ways([&] {
      Outs out;
      for (const bool decouple : {true, false}) {
        std::vector<float> p = p0, ga = ga0, sa = sa0;
        for (int step = 1; step <= 3; ++step)
          cd::adam_step(p.data(), g.data(), ga.data(), sa.data(), n, 1e-3, 0.9, 0.99, 1e-5, 0.01, decouple,
                        1 - std::pow(0.9, step), 1 - std::pow(0.99, step));
        for (auto* v : {&p, &ga, &sa}) out.push_back(*v);
      }
      return out;
    }, adam_rel);
    expect_same_both_ways([&] {  // SGD: one source for both loops, so the same bits in any build
      Outs out;
      for (const bool decouple : {true, false}) {
        std::vector<float> ps = p0, gas = ga0, pn = p0;
        cd::sgd_step(ps.data(), g.data(), gas.data(), n, 0.1, 0.9, 0.01, decouple);
        cd::sgd_step(pn.data(), g.data(), nullptr, n, 0.1, 0.0, 0.01, decouple);
        for (auto* v : {&ps, &gas, &pn}) out.push_back(*v);
      }
      return out;
    });
  }
}
