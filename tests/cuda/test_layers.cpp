// Runs on a GPU machine only. fastpp::cuda's layer kernels other than convolution and linear
// (src/cuda/norm.cu, pool.cu, elementwise.cu) against the cpu's (layer_kernels<cpu>) on fresh random inputs:
// batch normalisation forward (training and evaluation, with and without xhat, in place) and backward
// (batch and frozen statistics, dgamma/dbeta added to, dx aliasing dy, null outputs); max, average and
// adaptive pooling with their adjoints (odd shapes, overlapping and padded windows, ties and NaNs, a concat
// pool's channel stride and offset); ReLU, dropout (the cpu's random numbers from any stream position), the
// residual sum, products, fills and the NHWC <-> NCHW reorders. The GPU's outputs are poisoned with NaN
// (argmax with -7) before each run, so an element it never writes fails. Tolerances: exact where both
// devices do the same float operations in the same order (max pooling, ReLU, dropout, sums of two, copies,
// max pooling's gathered backward); 2e-5 relative (with a floor of that times the array's largest value)
// where the GPU fuses a multiply-add or sums in another order (batch normalisation, average pooling).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <fastpp/backend/cpu/layer_kernels.hpp>
#include <fastpp/backend/cuda/layers.hpp>
#include <fastpp/core.hpp>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "compare.hpp"

using namespace fastpp;

namespace layers_test {

using i64 = std::int64_t;
using CpuK = backend::layer_kernels<cpu>;
constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();

using gpu_compare::device;
using gpu_compare::host;
inline Tensor<float, cuda> poisoned(std::size_t n) { return gpu_compare::poisoned(static_cast<i64>(n)); }

inline std::vector<float> normal(std::size_t n, float mean, float sd, std::mt19937& gen) {
  std::normal_distribution<float> d(mean, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

using gpu_compare::check_close;
// The same values (NaN where the cpu has NaN).
template <class T>
void check_same(const std::vector<T>& gpu, const std::vector<T>& cpu, const char* what) {
  REQUIRE(gpu.size() == cpu.size());
  std::size_t bad = 0, first = 0;
  for (std::size_t k = 0; k < cpu.size(); ++k) {
    bool ok = gpu[k] == cpu[k];
    if constexpr (std::is_floating_point_v<T>) ok = ok || (std::isnan(gpu[k]) && std::isnan(cpu[k]));
    if (!ok) first = bad++ == 0 ? k : first;
  }
  INFO(what << ": " << bad << " of " << cpu.size() << " differ; first at " << first << ": gpu "
            << (bad ? gpu[first] : T{}) << ", cpu " << (bad ? cpu[first] : T{}));
  CHECK(bad == 0);
}

constexpr double bn_tol = 2e-5;

// Batch normalisation forward over [rows, c], training or not, against the cpu; x has per-channel means
// far from zero (the one-pass shifted variance must hold) and spreads that differ by channel.
inline void batchnorm_forward_case(i64 rows, i64 c, bool training, bool with_xhat, bool in_place, std::uint32_t seed) {
  INFO("batchnorm forward rows " << rows << ", c " << c << ", training " << training << ", xhat " << with_xhat
                                 << ", in place " << in_place);
  std::mt19937 gen(seed);
  const auto n = static_cast<std::size_t>(rows * c);
  std::vector<float> x(n), chan_mean = normal(static_cast<std::size_t>(c), 3.0f, 10.0f, gen);
  std::uniform_real_distribution<float> spread(0.1f, 4.0f);
  std::vector<float> chan_sd(static_cast<std::size_t>(c));
  for (auto& s : chan_sd) s = spread(gen);
  std::normal_distribution<float> z(0.0f, 1.0f);
  for (std::size_t k = 0; k < n; ++k) x[k] = chan_mean[k % c] + chan_sd[k % c] * z(gen);
  const auto gamma = normal(static_cast<std::size_t>(c), 1.0f, 0.3f, gen);
  const auto beta = normal(static_cast<std::size_t>(c), 0.0f, 0.5f, gen);
  auto rmean = normal(static_cast<std::size_t>(c), 0.0f, 1.0f, gen);
  std::vector<float> rvar(static_cast<std::size_t>(c));
  for (auto& v : rvar) v = spread(gen);
  const float momentum = 0.1f, eps = 1e-5f;

  auto rmean_c = rmean, rvar_c = rvar;
  std::vector<float> y_c(n), xhat_c(n), invstd_c(static_cast<std::size_t>(c));
  CpuK::batchnorm_forward(x.data(), rows, c, training, momentum, eps, gamma.data(), beta.data(), rmean_c.data(),
                          rvar_c.data(), y_c.data(), with_xhat ? xhat_c.data() : nullptr, invstd_c.data());

  auto x_d = device(x);
  const auto g_d = device(gamma), b_d = device(beta);
  auto rmean_d = device(rmean), rvar_d = device(rvar);
  auto y_d = in_place ? device(x) : poisoned(n);
  auto xhat_d = poisoned(n), invstd_d = poisoned(static_cast<std::size_t>(c));
  cuda_kernels::batchnorm_forward(in_place ? y_d.data() : x_d.data(), rows, c, training, momentum, eps, g_d.data(),
                                  b_d.data(), rmean_d.data(), rvar_d.data(), y_d.data(),
                                  with_xhat ? xhat_d.data() : nullptr, invstd_d.data());
  check_close(host(y_d), y_c, bn_tol, "y");
  if (with_xhat) check_close(host(xhat_d), xhat_c, bn_tol, "xhat");
  check_close(host(invstd_d), invstd_c, bn_tol, "invstd");
  check_close(host(rmean_d), rmean_c, bn_tol, "running_mean");
  check_close(host(rvar_d), rvar_c, bn_tol, "running_var");
  if (!training) {  // the running estimates are read only
    check_same(host(rmean_d), rmean, "running_mean untouched");
    check_same(host(rvar_d), rvar, "running_var untouched");
  }
}

// Batch normalisation backward: dgamma and dbeta start at random values (the kernels add), dx separate or
// in dy's place, each output possibly null.
inline void batchnorm_backward_case(i64 rows, i64 c, bool frozen, bool alias, bool grads, bool with_dx,
                                    std::uint32_t seed) {
  INFO("batchnorm backward rows " << rows << ", c " << c << ", frozen " << frozen << ", dx aliases dy " << alias
                                  << ", dgamma/dbeta " << grads << ", dx " << with_dx);
  std::mt19937 gen(seed);
  const auto n = static_cast<std::size_t>(rows * c), cs = static_cast<std::size_t>(c);
  const auto xhat = normal(n, 0.0f, 1.0f, gen), dy = normal(n, 0.1f, 1.0f, gen);
  const auto gamma = normal(cs, 1.0f, 0.3f, gen);
  std::vector<float> invstd(cs);
  std::uniform_real_distribution<float> u(0.2f, 3.0f);
  for (auto& v : invstd) v = u(gen);
  const auto dgamma0 = normal(cs, 0.0f, 1.0f, gen), dbeta0 = normal(cs, 0.0f, 1.0f, gen);

  auto dgamma_c = dgamma0, dbeta_c = dbeta0, dx_c = dy;
  CpuK::batchnorm_backward(xhat.data(), dy.data(), rows, c, gamma.data(), invstd.data(), frozen,
                           grads ? dgamma_c.data() : nullptr, grads ? dbeta_c.data() : nullptr,
                           with_dx ? dx_c.data() : nullptr);  // in place: dx = dy's copy

  const auto xhat_d = device(xhat), gamma_d = device(gamma), invstd_d = device(invstd);
  auto dy_d = device(dy);
  auto dgamma_d = device(dgamma0), dbeta_d = device(dbeta0);
  auto dx_d = alias ? dy_d : poisoned(n);  // a Tensor copy shares its storage
  cuda_kernels::batchnorm_backward(xhat_d.data(), dy_d.data(), rows, c, gamma_d.data(), invstd_d.data(), frozen,
                                   grads ? dgamma_d.data() : nullptr, grads ? dbeta_d.data() : nullptr,
                                   with_dx ? dx_d.data() : nullptr);
  if (with_dx) check_close(host(dx_d), dx_c, bn_tol, "dx");
  else if (!alias) check_same(host(dx_d), std::vector<float>(n, nan_f), "dx untouched");
  if (!with_dx || !alias) check_same(host(dy_d), dy, "dy untouched");
  check_close(host(dgamma_d), dgamma_c, bn_tol, "dgamma");
  check_close(host(dbeta_d), dbeta_c, bn_tol, "dbeta");
}

// Values on a coarse grid (ties between window entries), a few NaNs, -inf and +inf.
inline std::vector<float> pool_input(std::size_t n, std::mt19937& gen, bool specials) {
  std::uniform_int_distribution<int> q(-8, 8);
  std::vector<float> v(n);
  for (auto& x : v) x = 0.5f * static_cast<float>(q(gen));
  if (specials && n > 8) {
    std::uniform_int_distribution<std::size_t> at(0, n - 1);
    for (int k = 0; k < 3; ++k) v[at(gen)] = nan_f;
    v[at(gen)] = -std::numeric_limits<float>::infinity();
    v[at(gen)] = std::numeric_limits<float>::infinity();
  }
  return v;
}

inline void maxpool_case(const backend::PoolGeom& g, bool specials, std::uint32_t seed) {
  INFO("maxpool n " << g.n << ", h " << g.h << ", w " << g.w << ", c " << g.c << ", kernel " << g.kh << "x" << g.kw
                    << ", stride " << g.stride << ", pad " << g.pad << ", NaNs " << specials);
  std::mt19937 gen(seed);
  const auto in_n = static_cast<std::size_t>(g.n * g.h * g.w * g.c);
  const auto out_n = static_cast<std::size_t>(g.n * g.ho() * g.wo() * g.c);
  const auto x = pool_input(in_n, gen, specials);
  const auto dy = normal(out_n, 0.0f, 1.0f, gen);
  std::vector<float> y_c(out_n), dx_c(in_n);
  std::vector<std::int32_t> arg_c(out_n);
  CpuK::maxpool2d_forward(x.data(), g, y_c.data(), arg_c.data());
  CpuK::maxpool2d_backward(dy.data(), arg_c.data(), g, dx_c.data());

  const auto x_d = device(x), dy_d = device(dy);
  auto y_d = poisoned(out_n), dx_d = poisoned(in_n);
  auto arg_d = device(std::vector<std::int32_t>(out_n, -7));
  cuda_kernels::maxpool2d_forward(x_d.data(), g, y_d.data(), arg_d.data());
  check_same(host(y_d), y_c, "maxpool y");
  check_same(host(arg_d), arg_c, "maxpool argmax");
  // the backward from the cpu's argmax, so it is checked on its own
  const auto argc_d = device(arg_c);
  cuda_kernels::maxpool2d_backward(dy_d.data(), argc_d.data(), g, dx_d.data());
  check_same(host(dx_d), dx_c, "maxpool dx");
}

inline void avgpool_case(const backend::PoolGeom& g, std::uint32_t seed) {
  INFO("avgpool n " << g.n << ", h " << g.h << ", w " << g.w << ", c " << g.c << ", kernel " << g.kh << "x" << g.kw
                    << ", stride " << g.stride << ", pad " << g.pad);
  std::mt19937 gen(seed);
  const auto in_n = static_cast<std::size_t>(g.n * g.h * g.w * g.c);
  const auto out_n = static_cast<std::size_t>(g.n * g.ho() * g.wo() * g.c);
  const auto x = normal(in_n, 0.5f, 1.0f, gen), dy = normal(out_n, 0.0f, 1.0f, gen);
  std::vector<float> y_c(out_n), dx_c(in_n);
  CpuK::avgpool2d(x.data(), g, false, y_c.data());
  CpuK::avgpool2d(dy.data(), g, true, dx_c.data());
  const auto x_d = device(x), dy_d = device(dy);
  auto y_d = poisoned(out_n), dx_d = poisoned(in_n);
  cuda_kernels::avgpool2d(x_d.data(), g, false, y_d.data());
  cuda_kernels::avgpool2d(dy_d.data(), g, true, dx_d.data());
  check_close(host(y_d), y_c, bn_tol, "avgpool y");
  check_close(host(dx_d), dx_c, bn_tol, "avgpool dx");
}

// A concat pool's two halves: max into channels [c, 2c), average into [0, c) of y[n, oh, ow, 2c]; then
// both adjoints added into a dx that starts at random values.
inline void adaptive_case(i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, bool specials, std::uint32_t seed) {
  INFO("adaptive pool n " << n << ", " << h << "x" << w << " -> " << oh << "x" << ow << ", c " << c << ", NaNs "
                          << specials);
  std::mt19937 gen(seed);
  const auto in_n = static_cast<std::size_t>(n * h * w * c), out_n = static_cast<std::size_t>(n * oh * ow * c);
  const auto x = pool_input(in_n, gen, specials);
  const auto dy = normal(2 * out_n, 0.0f, 1.0f, gen), dx0 = normal(in_n, 0.0f, 1.0f, gen);
  std::vector<float> y_c(2 * out_n, nan_f), dx_c = dx0;
  std::vector<std::int32_t> arg_c(out_n);
  CpuK::adaptive_pool_forward(x.data(), n, h, w, c, oh, ow, false, y_c.data(), 2 * c, 0, nullptr);
  CpuK::adaptive_pool_forward(x.data(), n, h, w, c, oh, ow, true, y_c.data(), 2 * c, c, arg_c.data());
  CpuK::adaptive_pool_backward(dy.data(), n, h, w, c, oh, ow, false, 2 * c, 0, nullptr, dx_c.data());
  CpuK::adaptive_pool_backward(dy.data(), n, h, w, c, oh, ow, true, 2 * c, c, arg_c.data(), dx_c.data());

  const auto x_d = device(x), dy_d = device(dy);
  auto y_d = poisoned(2 * out_n);
  auto arg_d = device(std::vector<std::int32_t>(out_n, -7));
  cuda_kernels::adaptive_pool_forward(x_d.data(), n, h, w, c, oh, ow, false, y_d.data(), 2 * c, 0, nullptr);
  cuda_kernels::adaptive_pool_forward(x_d.data(), n, h, w, c, oh, ow, true, y_d.data(), 2 * c, c, arg_d.data());
  const auto y_g = host(y_d);
  check_close(y_g, y_c, bn_tol, "adaptive y");
  check_same(host(arg_d), arg_c, "adaptive argmax");
  std::vector<float> max_g, max_c;  // the max half exactly
  for (std::size_t o = 0; o < out_n; ++o) {
    const std::size_t k = (o / static_cast<std::size_t>(c)) * 2 * static_cast<std::size_t>(c) +
                          static_cast<std::size_t>(c) + o % static_cast<std::size_t>(c);
    max_g.push_back(y_g[k]);
    max_c.push_back(y_c[k]);
  }
  check_same(max_g, max_c, "adaptive max half");
  auto dx_d = device(dx0);
  const auto argc_d = device(arg_c);
  cuda_kernels::adaptive_pool_backward(dy_d.data(), n, h, w, c, oh, ow, false, 2 * c, 0, nullptr, dx_d.data());
  cuda_kernels::adaptive_pool_backward(dy_d.data(), n, h, w, c, oh, ow, true, 2 * c, c, argc_d.data(), dx_d.data());
  check_close(host(dx_d), dx_c, bn_tol, "adaptive dx");
}

}  // namespace layers_test

TEST_CASE("cuda batchnorm forward matches the cpu kernel", "[cuda][batchnorm]") {
  std::uint32_t seed = 1;
  const std::int64_t shapes[][2] = {{100003, 64}, {37, 2048}, {1000, 3}, {513, 100}, {2, 7},
                                    {64, 1},      {4096, 33}, {3, 17},   {20000, 256}};
  for (const auto& s : shapes)
    for (bool training : {true, false}) layers_test::batchnorm_forward_case(s[0], s[1], training, true, false, seed++);
  layers_test::batchnorm_forward_case(777, 48, true, false, false, seed++);  // no xhat
  layers_test::batchnorm_forward_case(777, 48, true, true, true, seed++);    // y in x's place
  layers_test::batchnorm_forward_case(50, 5, false, false, true, seed++);
}

TEST_CASE("cuda batchnorm backward matches the cpu kernel", "[cuda][batchnorm]") {
  std::uint32_t seed = 100;
  const std::int64_t shapes[][2] = {{100003, 64}, {37, 2048}, {1000, 3}, {513, 100}, {2, 7}, {64, 1}, {4096, 33}};
  for (const auto& s : shapes)
    for (bool frozen : {false, true})
      for (bool alias : {false, true}) layers_test::batchnorm_backward_case(s[0], s[1], frozen, alias, true, true, seed++);
  for (bool frozen : {false, true}) {
    layers_test::batchnorm_backward_case(300, 24, frozen, false, false, true, seed++);  // no dgamma/dbeta
    layers_test::batchnorm_backward_case(300, 24, frozen, false, true, false, seed++);  // no dx
  }
}

TEST_CASE("cuda max pooling matches the cpu kernel, ties and NaNs included", "[cuda][pool]") {
  std::uint32_t seed = 200;
  const backend::PoolGeom geoms[] = {
      {2, 7, 9, 5, 3, 3, 2, 1},   {3, 8, 8, 16, 2, 2, 2, 0},    {2, 13, 11, 67, 3, 3, 1, 1},
      {1, 1, 1, 3, 1, 1, 1, 0},   {4, 112, 112, 64, 3, 3, 2, 1}, {1, 10, 6, 1, 5, 3, 2, 2},
      {2, 9, 9, 40, 3, 3, 3, 1}};
  for (const auto& g : geoms)
    for (bool specials : {false, true}) layers_test::maxpool_case(g, specials, seed++);
}

TEST_CASE("cuda average pooling and its adjoint match the cpu kernel", "[cuda][pool]") {
  std::uint32_t seed = 300;
  const backend::PoolGeom geoms[] = {{2, 7, 9, 5, 3, 3, 2, 1},  {3, 8, 8, 16, 2, 2, 2, 0},
                                     {2, 13, 11, 67, 3, 3, 1, 1}, {1, 1, 1, 3, 1, 1, 1, 0},
                                     {4, 56, 56, 64, 3, 3, 2, 1}, {1, 10, 6, 1, 5, 3, 2, 2}};
  for (const auto& g : geoms) layers_test::avgpool_case(g, seed++);
}

TEST_CASE("cuda adaptive pooling (a concat pool's halves) matches the cpu kernel", "[cuda][pool]") {
  std::uint32_t seed = 400;
  const std::int64_t shapes[][6] = {{2, 7, 7, 512, 1, 1}, {3, 10, 13, 5, 4, 6}, {1, 5, 5, 3, 7, 7},
                                    {2, 9, 9, 33, 3, 3},  {1, 1, 1, 2, 1, 1},   {2, 11, 4, 9, 5, 3}};
  for (const auto& s : shapes)
    for (bool specials : {false, true}) layers_test::adaptive_case(s[0], s[1], s[2], s[3], s[4], s[5], specials, seed++);
}

TEST_CASE("cuda relu, sums, products and fills match the cpu kernels", "[cuda][elementwise]") {
  using layers_test::check_same;
  using layers_test::device;
  using layers_test::host;
  using layers_test::poisoned;
  std::mt19937 gen(500);
  for (std::int64_t n : {std::int64_t{1}, std::int64_t{1000}, std::int64_t{5000011}}) {
    INFO("n " << n);
    const auto sn = static_cast<std::size_t>(n);
    auto x = layers_test::normal(sn, 0.0f, 1.0f, gen);
    x[0] = layers_test::nan_f;
    if (n > 2) x[2] = 0.0f;
    const auto b = layers_test::normal(sn, 0.0f, 1.0f, gen), dy = layers_test::normal(sn, 0.0f, 1.0f, gen);
    std::vector<float> y_c(sn), dx_c(sn), sum_c = x, prod_c(sn), fill_c(sn);
    backend::layer_kernels<cpu>::relu_forward(x.data(), n, y_c.data());
    backend::layer_kernels<cpu>::relu_backward(y_c.data(), dy.data(), n, dx_c.data());
    backend::layer_kernels<cpu>::add_inplace(sum_c.data(), b.data(), n);
    backend::layer_kernels<cpu>::multiply(x.data(), b.data(), n, prod_c.data());
    backend::layer_kernels<cpu>::fill(fill_c.data(), n, 2.5f);

    const auto x_d = device(x), b_d = device(b), y_d0 = device(y_c);
    auto y_d = poisoned(sn), dx_d = device(dy), sum_d = device(x), prod_d = poisoned(sn), fill_d = poisoned(sn);
    cuda_kernels::relu_forward(x_d.data(), n, y_d.data());
    check_same(host(y_d), y_c, "relu y");
    cuda_kernels::relu_backward(y_d0.data(), dx_d.data(), n, dx_d.data());  // dx in dy's place
    check_same(host(dx_d), dx_c, "relu dx");
    cuda_kernels::add_inplace(sum_d.data(), b_d.data(), n);
    check_same(host(sum_d), sum_c, "a + b");
    cuda_kernels::multiply(x_d.data(), b_d.data(), n, prod_d.data());
    check_same(host(prod_d), prod_c, "a * b");
    cuda_kernels::fill(fill_d.data(), n, 2.5f);
    check_same(host(fill_d), fill_c, "fill");
    auto relu_in_place = device(x);
    cuda_kernels::relu_forward(relu_in_place.data(), n, relu_in_place.data());
    check_same(host(relu_in_place), y_c, "relu in place");
  }
}

TEST_CASE("cuda dropout takes the cpu's random numbers from any stream position", "[cuda][elementwise]") {
  std::mt19937 gen(600);
  for (std::int64_t n : {std::int64_t{1}, std::int64_t{3}, std::int64_t{1000}, std::int64_t{100001}})
    for (int drawn : {0, 1, 2, 3, 5, 8})
      for (float p : {0.1f, 0.5f}) {
        INFO("n " << n << ", drawn " << drawn << ", p " << p);
        Rng rng = Rng(2024, 11).fork(static_cast<std::uint64_t>(n));
        for (int k = 0; k < drawn; ++k) (void)rng.next_u32();
        const auto x = layers_test::normal(static_cast<std::size_t>(n), 0.0f, 1.0f, gen);
        std::vector<float> y_c(x.size()), mask_c(x.size());
        backend::layer_kernels<cpu>::dropout_forward(x.data(), n, p, rng, y_c.data(), mask_c.data());
        const auto x_d = layers_test::device(x);
        auto y_d = layers_test::poisoned(x.size()), mask_d = layers_test::poisoned(x.size());
        cuda_kernels::dropout_forward(x_d.data(), n, p, rng, y_d.data(), mask_d.data());
        layers_test::check_same(layers_test::host(mask_d), mask_c, "dropout mask");
        layers_test::check_same(layers_test::host(y_d), y_c, "dropout y");
        if (n >= 1000) {  // about p of the elements dropped: within 5 standard deviations
          std::int64_t zeros = 0;
          for (float m : mask_c) zeros += m == 0.0f;
          const double sd = std::sqrt(static_cast<double>(p) * (1.0 - p) / static_cast<double>(n));
          CHECK(std::abs(static_cast<double>(zeros) / static_cast<double>(n) - p) < 5 * sd);
        }
      }
}

TEST_CASE("cuda NHWC <-> NCHW reorders match the cpu kernels", "[cuda][elementwise]") {
  std::mt19937 gen(700);
  const std::int64_t shapes[][4] = {{2, 7, 9, 5}, {3, 33, 31, 65}, {1, 1, 1, 1}, {4, 56, 56, 64}, {2, 1, 1, 2048}};
  for (const auto& s : shapes) {
    INFO("n " << s[0] << ", h " << s[1] << ", w " << s[2] << ", c " << s[3]);
    const auto count = static_cast<std::size_t>(s[0] * s[1] * s[2] * s[3]);
    const auto x = layers_test::normal(count, 0.0f, 1.0f, gen);
    std::vector<float> nchw_c(count), nhwc_c(count);
    backend::layer_kernels<cpu>::nhwc_to_nchw(x.data(), s[0], s[1], s[2], s[3], nchw_c.data());
    backend::layer_kernels<cpu>::nchw_to_nhwc(x.data(), s[0], s[1], s[2], s[3], nhwc_c.data());
    const auto x_d = layers_test::device(x);
    auto nchw_d = layers_test::poisoned(count), nhwc_d = layers_test::poisoned(count);
    cuda_kernels::nhwc_to_nchw(x_d.data(), s[0], s[1], s[2], s[3], nchw_d.data());
    cuda_kernels::nchw_to_nhwc(x_d.data(), s[0], s[1], s[2], s[3], nhwc_d.data());
    layers_test::check_same(layers_test::host(nchw_d), nchw_c, "nhwc_to_nchw");
    layers_test::check_same(layers_test::host(nhwc_d), nhwc_c, "nchw_to_nhwc");
  }
}

TEST_CASE("cuda layer kernels name a bad argument", "[cuda]") {
  const backend::PoolGeom bad{1, 4, 4, 3, 2, 2, 0, 0};  // stride 0
  CHECK_THROWS_WITH(cuda_kernels::maxpool2d_forward(nullptr, bad, nullptr, nullptr),
                    Catch::Contains("bad pooling geometry"));
  CHECK_THROWS_WITH(cuda_kernels::batchnorm_forward(nullptr, -1, 4, true, 0.1f, 1e-5f, nullptr, nullptr, nullptr,
                                                    nullptr, nullptr, nullptr, nullptr),
                    Catch::Contains("negative shape"));
}
