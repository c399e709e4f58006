// Runs on a GPU machine only. Synchronised BatchNorm's kernels (src/cuda/norm_sync.cu) against the cpu's
// (backend/cpu/detail/norm_sync.hpp) on fresh random inputs: a batch split between two stand-in processes,
// each part's sums on the device, added on the host as the all-reduce would, then each part's forward from
// the global sums, its gradient sums and its dx from the global gradient sums. Several shapes (one channel,
// fewer than a warp, more than a tile, many rows past one chunk, a process with no rows). Every output is
// poisoned with NaN before the GPU runs, the device sums included. Tolerances: the sums (doubles, other
// orders of addition) 1e-12 relative with the largest value's floor, the float outputs 2e-5.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <fastpp/backend/cpu/layer_kernels.hpp>
#include <fastpp/backend/cuda/layer_kernels.hpp>
#include <fastpp/backend/cuda/layers.hpp>
#include <fastpp/core.hpp>
#include <limits>
#include <random>
#include <vector>

#include "compare.hpp"

using namespace fastpp;

namespace norm_sync_test {

using i64 = std::int64_t;
using CpuK = backend::layer_kernels<cpu>;
using CudaK = backend::layer_kernels<cuda>;
using gpu_compare::check_close;
using gpu_compare::device;
using gpu_compare::host;
using gpu_compare::poisoned;

constexpr double sum_tol = 1e-12, tol = 2e-5;
constexpr double nan_d = std::numeric_limits<double>::quiet_NaN();

static_assert(CudaK::batchnorm_sync_sums == &cuda_kernels::batchnorm_sync_sums &&
                  CudaK::batchnorm_sync_backward_dx == &cuda_kernels::batchnorm_sync_backward_dx,
              "the cuda table offers synchronised BatchNorm's kernels");

inline std::vector<float> normal(std::size_t n, float mean, float sd, std::mt19937& gen) {
  std::normal_distribution<float> d(mean, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

// Doubles: every element within tol relative, with tol * the largest |cpu| as floor; NaN fails.
inline void check_sums(const std::vector<double>& gpu, const std::vector<double>& cpu_values, const char* what) {
  REQUIRE(gpu.size() == cpu_values.size());
  double scale = 0;
  for (double c : cpu_values) scale = std::max(scale, std::abs(c));
  std::size_t bad = 0, first = 0;
  for (std::size_t k = 0; k < gpu.size(); ++k)
    if (!(std::abs(gpu[k] - cpu_values[k]) <= sum_tol * (std::abs(cpu_values[k]) + scale)))
      first = bad++ == 0 ? k : first;
  INFO(what << ": " << bad << " of " << gpu.size() << " differ; first at " << first << ": gpu "
            << (bad ? gpu[first] : 0.0) << ", cpu " << (bad ? cpu_values[first] : 0.0));
  CHECK(bad == 0);
}

inline std::vector<float> slice(const std::vector<float>& v, i64 r0, i64 r1, i64 c) {
  return std::vector<float>(v.begin() + r0 * c, v.begin() + r1 * c);
}

// rows split between two processes at `split`; with_xhat, grads (dgamma/dbeta not null), in_place (dx = dy).
inline void sync_case(i64 rows, i64 split, i64 c, bool with_xhat, bool grads, bool in_place, std::uint32_t seed) {
  INFO("sync batchnorm rows " << rows << " split at " << split << ", c " << c << ", xhat " << with_xhat
                              << ", dgamma/dbeta " << grads << ", dx in place " << in_place);
  std::mt19937 gen(seed);
  const auto cs = static_cast<std::size_t>(c);
  // per-channel means away from zero and spreads that differ by channel
  const auto chan_mean = normal(cs, 3.0f, 5.0f, gen);
  std::uniform_real_distribution<float> spread(0.2f, 4.0f);
  std::vector<float> chan_sd(cs);
  for (auto& s : chan_sd) s = spread(gen);
  std::normal_distribution<float> z(0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(rows * c));
  for (std::size_t k = 0; k < x.size(); ++k) x[k] = chan_mean[k % cs] + chan_sd[k % cs] * z(gen);
  const auto gamma = normal(cs, 1.0f, 0.3f, gen), beta = normal(cs, 0.0f, 0.5f, gen);
  const auto rmean = normal(cs, 0.0f, 1.0f, gen);
  std::vector<float> rvar(cs);
  for (auto& v : rvar) v = spread(gen);
  const auto dy = normal(x.size(), 0.1f, 1.0f, gen);
  const auto dgamma0 = normal(cs, 0.0f, 1.0f, gen), dbeta0 = normal(cs, 0.0f, 1.0f, gen);
  const float momentum = 0.1f, eps = 1e-5f;
  const i64 bounds[2][2] = {{0, split}, {split, rows}};

  // forward sums of each part, cpu and gpu, and their totals (the all-reduce, on the host here)
  std::vector<double> global_c(2 * cs + 1, 0.0), global_g(2 * cs + 1, 0.0);
  for (const auto& b : bounds) {
    const i64 r = b[1] - b[0];
    const auto xp = slice(x, b[0], b[1], c);
    std::vector<double> sums_c(2 * cs + 1);
    CpuK::batchnorm_sync_sums(xp.data(), r, c, sums_c.data());
    auto sums_d = device(std::vector<double>(2 * cs + 1, nan_d));
    const auto x_d = device(xp);
    cuda_kernels::batchnorm_sync_sums(x_d.data(), r, c, sums_d.data());
    const auto sums_g = host(sums_d);
    check_sums(sums_g, sums_c, "forward sums");
    CHECK(sums_g[2 * cs] == static_cast<double>(r));
    for (std::size_t k = 0; k < global_c.size(); ++k) global_c[k] += sums_c[k], global_g[k] += sums_g[k];
  }
  check_sums(global_g, global_c, "forward sums over both parts");
  REQUIRE(global_c[2 * cs] == static_cast<double>(rows));

  // each part's forward from the cpu's global sums; then its gradient sums and dx
  std::vector<double> gsum_c(2 * cs, 0.0);
  std::vector<std::vector<float>> xhat_parts(2);
  std::vector<float> invstd_c(cs);
  for (int p = 0; p < 2; ++p) {
    const i64 r0 = bounds[p][0], r1 = bounds[p][1], r = r1 - r0;
    const auto n = static_cast<std::size_t>(r * c);
    const auto xp = slice(x, r0, r1, c);
    auto rmean_c = rmean, rvar_c = rvar;
    std::vector<float> y_c(n), xhat_c(n);
    CpuK::batchnorm_sync_forward(xp.data(), r, c, global_c.data(), momentum, eps, gamma.data(), beta.data(),
                                 rmean_c.data(), rvar_c.data(), y_c.data(), xhat_c.data(), invstd_c.data());
    const auto x_d = device(xp), g_d = device(gamma), b_d = device(beta);
    const auto sums_d = device(global_c);
    auto rmean_d = device(rmean), rvar_d = device(rvar);
    auto y_d = poisoned(static_cast<i64>(n)), xhat_d = poisoned(static_cast<i64>(n)), invstd_d = poisoned(c);
    cuda_kernels::batchnorm_sync_forward(x_d.data(), r, c, sums_d.data(), momentum, eps, g_d.data(), b_d.data(),
                                         rmean_d.data(), rvar_d.data(), y_d.data(),
                                         with_xhat ? xhat_d.data() : nullptr, invstd_d.data());
    check_close(host(y_d), y_c, tol, "y");
    if (with_xhat) check_close(host(xhat_d), xhat_c, tol, "xhat");
    else check_close(host(xhat_d), std::vector<float>(n, std::numeric_limits<float>::quiet_NaN()), 0, "xhat untouched");
    check_close(host(invstd_d), invstd_c, tol, "invstd");
    check_close(host(rmean_d), rmean_c, tol, "running_mean");
    check_close(host(rvar_d), rvar_c, tol, "running_var");
    xhat_parts[static_cast<std::size_t>(p)] = xhat_c;

    // gradient sums of this part (added to dgamma/dbeta), cpu and gpu
    const auto dyp = slice(dy, r0, r1, c);
    std::vector<double> gs_c(2 * cs);
    auto dgamma_c = dgamma0, dbeta_c = dbeta0;
    CpuK::batchnorm_sync_grad_sums(xhat_c.data(), dyp.data(), r, c, gs_c.data(), grads ? dgamma_c.data() : nullptr,
                                   grads ? dbeta_c.data() : nullptr);
    const auto xh_d = device(xhat_c), dy_d = device(dyp);
    auto gs_d = device(std::vector<double>(2 * cs, nan_d));
    auto dgamma_d = device(dgamma0), dbeta_d = device(dbeta0);
    cuda_kernels::batchnorm_sync_grad_sums(xh_d.data(), dy_d.data(), r, c, gs_d.data(),
                                           grads ? dgamma_d.data() : nullptr, grads ? dbeta_d.data() : nullptr);
    check_sums(host(gs_d), gs_c, "gradient sums");
    check_close(host(dgamma_d), dgamma_c, tol, "dgamma");
    check_close(host(dbeta_d), dbeta_c, tol, "dbeta");
    if (!grads) {
      check_close(host(dgamma_d), dgamma0, 0, "dgamma untouched");
      check_close(host(dbeta_d), dbeta0, 0, "dbeta untouched");
    }
    for (std::size_t k = 0; k < gsum_c.size(); ++k) gsum_c[k] += gs_c[k];
  }

  // each part's dx from the global gradient sums over all rows
  for (int p = 0; p < 2; ++p) {
    const i64 r0 = bounds[p][0], r1 = bounds[p][1], r = r1 - r0;
    const auto n = static_cast<std::size_t>(r * c);
    const auto& xh = xhat_parts[static_cast<std::size_t>(p)];
    const auto dyp = slice(dy, r0, r1, c);
    std::vector<float> dx_c(n);
    CpuK::batchnorm_sync_backward_dx(xh.data(), dyp.data(), r, c, gamma.data(), invstd_c.data(), gsum_c.data(),
                                     static_cast<double>(rows), dx_c.data());
    const auto xh_d = device(xh), g_d = device(gamma), inv_d = device(invstd_c);
    const auto gs_d = device(gsum_c);
    auto dy_d = device(dyp);
    auto dx_d = in_place ? dy_d : poisoned(static_cast<i64>(n));  // a Tensor copy shares its storage
    cuda_kernels::batchnorm_sync_backward_dx(xh_d.data(), dy_d.data(), r, c, g_d.data(), inv_d.data(), gs_d.data(),
                                             static_cast<double>(rows), dx_d.data());
    check_close(host(dx_d), dx_c, tol, "dx");
    if (!in_place) check_close(host(dy_d), dyp, 0, "dy untouched");
  }
}

}  // namespace norm_sync_test

TEST_CASE("cuda synchronised batchnorm matches the cpu kernels", "[cuda][batchnorm][sync]") {
  std::uint32_t seed = 500;
  // rows, split, c
  const std::int64_t shapes[][3] = {{100003, 50001, 64}, {37, 20, 2048}, {1000, 999, 3}, {513, 256, 100},
                                    {4, 2, 7},           {64, 32, 1},    {4096, 100, 33}, {20000, 10000, 256},
                                    {9, 9, 5}};  // the last: the second process has no rows
  for (const auto& s : shapes) norm_sync_test::sync_case(s[0], s[1], s[2], true, true, false, seed++);
  norm_sync_test::sync_case(777, 300, 48, false, true, false, seed++);  // no xhat
  norm_sync_test::sync_case(777, 300, 48, true, false, false, seed++);  // no dgamma/dbeta
  norm_sync_test::sync_case(777, 300, 48, true, true, true, seed++);    // dx in dy's place
}

TEST_CASE("cuda synchronised batchnorm: no channels writes only the row count", "[cuda][batchnorm][sync]") {
  auto sums_d = gpu_compare::device(std::vector<double>(1, norm_sync_test::nan_d));
  cuda_kernels::batchnorm_sync_sums(nullptr, 5, 0, sums_d.data());
  CHECK(gpu_compare::host(sums_d)[0] == 5.0);
}
