// Runs on a GPU machine only. The fused cross-entropy kernel (src/cuda/cross_entropy.cu) against the cpu
// kernel on fresh random inputs, for every path (a warp per row with 1-8 values a lane, a block per row with
// the row staged in shared memory or read twice), reduced and per row, with and without label smoothing,
// class weights and ignored rows. The GPU's outputs are poisoned with NaN before each run, so an element it
// never writes fails. Tolerances by dtype: float within 2e-5, half 2e-3, bfloat16 1.6e-2 (relative, with an
// absolute floor of that times the array's largest value).
#include <catch2/catch.hpp>
#include <cmath>
#include <fastpp/backend/cpu/loss_kernels.hpp>
#include <fastpp/backend/cuda/cross_entropy.hpp>
#include <fastpp/core.hpp>
#include <limits>
#include <random>
#include <vector>

#include "compare.hpp"

using namespace fastpp;

namespace ce_test {

struct Case {
  std::int64_t rows, n;
  double eps;
  bool weighted, per_row;
};

template <class T>
std::vector<float> to_floats(const Tensor<T, cuda>& t) {
  return gpu_compare::host_floats(t);
}
using gpu_compare::check_close;

template <class T>
void compare(const Case& c, double tol, std::uint32_t seed) {
  INFO("rows " << c.rows << ", n " << c.n << ", eps " << c.eps << ", weighted " << c.weighted << ", per_row "
               << c.per_row);
  std::mt19937 gen(seed);
  std::normal_distribution<float> logit(0.0f, 3.0f);
  std::uniform_real_distribution<float> uniform(0.5f, 2.0f);
  const std::int64_t ignore = -100;
  std::vector<T> x(static_cast<std::size_t>(c.rows * c.n));
  for (auto& v : x) v = T(logit(gen) + 40.0f);  // far from zero: the kernels must shift by the maximum
  std::vector<std::int64_t> target(static_cast<std::size_t>(c.rows));
  for (std::int64_t i = 0; i < c.rows; ++i)
    target[i] = i % 7 == 3 ? ignore : std::uniform_int_distribution<std::int64_t>(0, c.n - 1)(gen);
  std::vector<float> weight(static_cast<std::size_t>(c.n));
  for (auto& w : weight) w = uniform(gen);
  std::vector<T> grad(static_cast<std::size_t>(c.per_row ? c.rows : 1));
  for (auto& g : grad) g = T(c.per_row ? uniform(gen) : 1.0f);
  double total_weight = 0;
  for (std::int64_t t : target)
    if (t != ignore) total_weight += c.weighted ? weight[t] : 1.0;
  const double nll_div = c.per_row ? 1.0 : total_weight, smooth_div = c.per_row ? 1.0 : static_cast<double>(c.rows);

  // the cpu kernel in float on the same (rounded) inputs
  std::vector<float> xf(x.begin(), x.end()), gf(grad.begin(), grad.end());
  std::vector<float> loss_c(static_cast<std::size_t>(c.per_row ? c.rows : 1)), lse_c(target.size()), dx_c(x.size());
  backend::cpu_detail::LossKernels::softmax_cross_entropy<float>(
      xf.data(), c.rows, c.n, target.data(), ignore, c.weighted ? weight.data() : nullptr, c.eps, nll_div, smooth_div,
      c.per_row, loss_c.data(), lse_c.data(), gf.data(), dx_c.data());

  const auto x_d = Tensor<T>::from({c.rows, c.n}, x).template to<cuda>();
  const auto t_d = Tensor<std::int64_t>::from({c.rows}, target).template to<cuda>();
  const auto w_d = Tensor<float>::from({c.n}, weight).template to<cuda>();
  const auto g_d = Tensor<T>::from({static_cast<std::int64_t>(grad.size())}, grad).template to<cuda>();
  const T poison(std::numeric_limits<float>::quiet_NaN());
  auto loss_d = Tensor<T>::full({static_cast<std::int64_t>(loss_c.size())}, poison).template to<cuda>();
  auto lse_d = Tensor<T>::full({c.rows}, poison).template to<cuda>();
  auto dx_d = Tensor<T>::full({c.rows, c.n}, poison).template to<cuda>();
  cuda_kernels::softmax_cross_entropy(x_d.data(), c.rows, c.n, t_d.data(), ignore, c.weighted ? w_d.data() : nullptr,
                                      c.eps, nll_div, smooth_div, c.per_row, loss_d.data(), lse_d.data(), g_d.data(),
                                      dx_d.data());
  check_close(to_floats(loss_d), loss_c, tol, "loss");
  check_close(to_floats(lse_d), lse_c, tol, "lse");
  check_close(to_floats(dx_d), dx_c, tol, "dx");
}

inline std::vector<Case> cases() {
  std::vector<Case> out;
  // n = 1..256: a warp per row with 1, 2, 4, 8 values a lane; 257 and 5000: a block, staged in shared
  // memory; 20000: a block reading the row twice
  const std::int64_t shapes[][2] = {{1, 1}, {5, 10}, {64, 37}, {40, 64}, {33, 129}, {17, 256},
                                    {9, 257}, {6, 5000}, {3, 20000}};
  for (const auto& s : shapes)
    for (double eps : {0.0, 0.1})
      for (bool weighted : {false, true})
        for (bool per_row : {false, true}) out.push_back({s[0], s[1], eps, weighted, per_row});
  return out;
}

}  // namespace ce_test

TEST_CASE("cuda fused cross-entropy matches the cpu kernel (float)", "[cuda]") {
  std::uint32_t seed = 1;
  for (const auto& c : ce_test::cases()) ce_test::compare<float>(c, 2e-5, seed++);
}

TEST_CASE("cuda fused cross-entropy matches the cpu kernel (half and bfloat16 inputs, float accumulation)", "[cuda]") {
  std::uint32_t seed = 100;
  for (const auto& c : ce_test::cases()) {
    ce_test::compare<half>(c, 2e-3, seed++);
    ce_test::compare<bfloat16>(c, 1.6e-2, seed++);
  }
}

TEST_CASE("cuda fused cross-entropy names a bad argument", "[cuda]") {
  CHECK_THROWS_WITH(cuda_kernels::softmax_cross_entropy(static_cast<const float*>(nullptr), 4, 0, nullptr, -100,
                                                        nullptr, 0.0, 1.0, 1.0, true, nullptr, nullptr, nullptr,
                                                        nullptr),
                    Catch::Contains("at least one class, got n = 0"));
}
