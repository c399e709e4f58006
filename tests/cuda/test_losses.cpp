// Runs on a GPU machine only. The loss kernels of fastpp::cuda (src/cuda/loss.cu) against the cpu's
// (backend/cpu/loss_kernels.hpp) on fresh random inputs: the softmax family and argmax for rows of
// n = 1, 2, 37, 1000, 4099 (a warp per row up to 512, a block above), target checks (a bad target at a later
// row and at row 0, the lowest of several reported), widening, nll_loss and the binary cross-entropy on
// logits, per row/element and reduced, with and without class weights, ignored rows and positive weights.
// Every GPU output is poisoned with NaN first, so an element the kernel never writes fails. The same bits
// are required where both devices compute the same IEEE operations in the same order (argmax, targets,
// nll's per-row values and backward, the sigmoid's backward); elsewhere the GPU's expf/logf differ from
// the cpu's polynomial exp by a few ulps and sums run in another order: within 2e-5 relative, with an
// absolute floor of that times the array's largest value.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fastpp/backend/cpu/loss_kernels.hpp>
#include <fastpp/backend/cuda/losses.hpp>
#include <fastpp/core.hpp>
#include <limits>
#include <random>
#include <vector>

#include "compare.hpp"

using namespace fastpp;

namespace loss_test {

using i64 = std::int64_t;
using Cpu = backend::cpu_detail::LossKernels;
constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();
constexpr double tol = 2e-5;
constexpr i64 ignore = -100;

template <class T>
Tensor<T, cuda> dev(const std::vector<T>& v) {
  return Tensor<T>::from({static_cast<i64>(v.size())}, v).template to<cuda>();
}
// A device array of `count` values, every one poisoned (NaN for floats).
template <class T>
Tensor<T, cuda> poisoned(i64 count, T poison) {
  return Tensor<T>::full({count}, poison).template to<cuda>();
}
using gpu_compare::host;

inline void check_close(const std::vector<float>& gpu, const std::vector<float>& cpu, const char* what,
                        double rel = tol) {
  gpu_compare::check_close(gpu, cpu, rel, what);
}

inline void check_bits(const std::vector<float>& gpu, const std::vector<float>& cpu, const char* what) {
  REQUIRE(gpu.size() == cpu.size());
  std::size_t bad = 0, first = 0;
  for (std::size_t k = 0; k < cpu.size(); ++k) {
    const bool ok = std::isnan(cpu[k]) ? std::isnan(gpu[k]) : std::memcmp(&gpu[k], &cpu[k], sizeof(float)) == 0;
    if (!ok) first = bad++ == 0 ? k : first;
  }
  INFO(what << ": " << bad << " of " << cpu.size() << " differ in bits; first at " << first << ": gpu "
            << (bad ? gpu[first] : 0.0f) << ", cpu " << (bad ? cpu[first] : 0.0f));
  CHECK(bad == 0);
}

inline std::vector<float> normal(std::size_t count, float mean, float sd, std::mt19937& gen) {
  std::normal_distribution<float> d(mean, sd);
  std::vector<float> v(count);
  for (auto& x : v) x = d(gen);
  return v;
}
inline std::vector<float> uniform(std::size_t count, float lo, float hi, std::mt19937& gen) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(count);
  for (auto& x : v) x = d(gen);
  return v;
}
// Class targets in [0, n), every 7th row (from row 3) ignored.
inline std::vector<i64> targets(i64 rows, i64 n, std::mt19937& gen) {
  std::vector<i64> t(static_cast<std::size_t>(rows));
  for (i64 i = 0; i < rows; ++i) t[i] = i % 7 == 3 ? ignore : std::uniform_int_distribution<i64>(0, n - 1)(gen);
  return t;
}

struct RowShape {
  i64 rows, n;
};
// n = 1, 2, 37 (a warp per row), 1000 and 4099 (a block per row, 256 and 512 threads)
inline const RowShape shapes[] = {{5, 1}, {9, 2}, {33, 37}, {1, 37}, {7, 1000}, {3, 4099}};

}  // namespace loss_test

using namespace loss_test;

TEST_CASE("cuda softmax, log_softmax and their backwards match the cpu kernels", "[cuda]") {
  std::mt19937 gen(7);
  for (const RowShape s : shapes) {
    INFO("rows " << s.rows << ", n " << s.n);
    const auto count = static_cast<std::size_t>(s.rows * s.n);
    const auto x = normal(count, 40.0f, 3.0f, gen);  // far from zero: the kernels must shift by the maximum
    const auto dy = normal(count, 0.0f, 1.0f, gen);
    const auto x_d = dev(x), dy_d = dev(dy);
    for (const bool log : {false, true}) {
      INFO("log " << log);
      std::vector<float> y_c(count), dx_c(count);
      if (log) Cpu::log_softmax(x.data(), s.rows, s.n, y_c.data());
      else Cpu::softmax(x.data(), s.rows, s.n, y_c.data());
      auto y_d = poisoned<float>(static_cast<i64>(count), nan_f);
      if (log) cuda_kernels::log_softmax(x_d.data(), s.rows, s.n, y_d.data());
      else cuda_kernels::softmax(x_d.data(), s.rows, s.n, y_d.data());
      check_close(host(y_d), y_c, "y");

      // the backward from the cpu's y, so both start from the same values
      if (log) Cpu::log_softmax_backward(y_c.data(), dy.data(), s.rows, s.n, dx_c.data());
      else Cpu::softmax_backward(y_c.data(), dy.data(), s.rows, s.n, dx_c.data());
      const auto yc_d = dev(y_c);
      auto dx_d = poisoned<float>(static_cast<i64>(count), nan_f);
      if (log) cuda_kernels::log_softmax_backward(yc_d.data(), dy_d.data(), s.rows, s.n, dx_d.data());
      else cuda_kernels::softmax_backward(yc_d.data(), dy_d.data(), s.rows, s.n, dx_d.data());
      check_close(host(dx_d), dx_c, "dx");
    }
  }
}

TEST_CASE("cuda argmax gives the cpu's first index of the largest value, NaN never larger", "[cuda]") {
  std::mt19937 gen(8);
  for (const RowShape s : shapes) {
    INFO("rows " << s.rows << ", n " << s.n);
    const i64 rows = s.rows + 5;
    std::vector<float> x(static_cast<std::size_t>(rows * s.n));
    // few distinct values, so rows have ties and the first index must win
    std::uniform_int_distribution<int> small(-3, 3);
    for (auto& v : x) v = static_cast<float>(small(gen));
    const auto row = [&](i64 i) { return x.data() + i * s.n; };
    // the extra rows: a NaN at index 0 (the answer stays 0), a NaN at the last index (passed over), all NaN,
    // all -inf, a NaN in the middle before the maximum
    row(s.rows)[0] = nan_f;
    row(s.rows + 1)[s.n - 1] = nan_f;
    for (i64 j = 0; j < s.n; ++j) row(s.rows + 2)[j] = nan_f;
    for (i64 j = 0; j < s.n; ++j) row(s.rows + 3)[j] = -std::numeric_limits<float>::infinity();
    row(s.rows + 4)[s.n / 2] = nan_f;
    row(s.rows + 4)[s.n - 1] = 100.0f;
    std::vector<i64> out_c(static_cast<std::size_t>(rows));
    Cpu::argmax(x.data(), rows, s.n, out_c.data());
    const auto x_d = dev(x);
    auto out_d = poisoned<i64>(rows, -7);
    cuda_kernels::argmax(x_d.data(), rows, s.n, out_d.data());
    CHECK(host(out_d) == out_c);
  }
}

TEST_CASE("cuda scan_targets reports the first bad row and the cpu's total", "[cuda]") {
  std::mt19937 gen(9);
  for (const i64 rows : {i64{1}, i64{2}, i64{37}, i64{1000}, i64{4099}, i64{100000}}) {
    for (const bool weighted : {false, true}) {
      INFO("rows " << rows << ", weighted " << weighted);
      const i64 classes = 37;
      const auto w = uniform(classes, 0.5f, 2.0f, gen);
      const auto w_d = dev(w);
      const float* wp = weighted ? w_d.data() : nullptr;
      auto t = targets(rows, classes, gen);
      const auto run = [&](const std::vector<i64>& tt) {
        i64 row_c = 5, value_c = 5, row_g = 7, value_g = 7;
        const double total_c = Cpu::scan_targets(tt.data(), rows, classes, ignore, weighted ? w.data() : nullptr,
                                                 &row_c, &value_c);
        const auto t_d = dev(tt);
        const double total_g = cuda_kernels::scan_targets(t_d.data(), rows, classes, ignore, wp, &row_g, &value_g);
        CHECK(row_g == row_c);
        CHECK(value_g == value_c);
        CHECK(std::abs(total_g - total_c) <= 1e-12 * std::abs(total_c));
        return row_g;
      };
      CHECK(run(t) == -1);
      if (rows >= 4) {  // bad targets at 3 later rows: the lowest is reported (classes, then -1, then 1000)
        auto bad = t;
        bad[rows - 1] = 1000;
        bad[rows / 2 + 1] = -1;
        bad[rows / 2] = classes;
        CHECK(run(bad) == rows / 2);
      }
      auto bad0 = t;  // row 0 bad, and the last row too
      bad0[0] = -5;
      bad0[rows - 1] = classes + 3;
      CHECK(run(bad0) == 0);
    }
  }
}

TEST_CASE("cuda widen_targets copies int32 and uint8 class indices to int64", "[cuda]") {
  std::mt19937 gen(10);
  for (const i64 count : {i64{1}, i64{37}, i64{4099}}) {
    std::vector<std::int32_t> a(static_cast<std::size_t>(count));
    std::vector<std::uint8_t> b(static_cast<std::size_t>(count));
    for (auto& v : a) v = std::uniform_int_distribution<std::int32_t>(-200, 1 << 30)(gen);
    for (auto& v : b) v = static_cast<std::uint8_t>(std::uniform_int_distribution<int>(0, 255)(gen));
    std::vector<i64> a_c(a.size()), b_c(b.size());
    Cpu::widen_targets(a.data(), count, a_c.data());
    Cpu::widen_targets(b.data(), count, b_c.data());
    const auto a_d = dev(a);
    const auto b_d = dev(b);
    auto out_a = poisoned<i64>(count, -7), out_b = poisoned<i64>(count, -7);
    cuda_kernels::widen_targets(a_d.data(), count, out_a.data());
    cuda_kernels::widen_targets(b_d.data(), count, out_b.data());
    CHECK(host(out_a) == a_c);
    CHECK(host(out_b) == b_c);
  }
}

TEST_CASE("cuda nll_loss and its backward match the cpu kernels", "[cuda]") {
  std::mt19937 gen(11);
  for (const RowShape s : shapes) {
    for (const bool weighted : {false, true}) {
      for (const bool per_row : {false, true}) {
        INFO("rows " << s.rows << ", n " << s.n << ", weighted " << weighted << ", per_row " << per_row);
        const auto count = static_cast<std::size_t>(s.rows * s.n);
        const auto x = normal(count, 0.0f, 3.0f, gen);
        std::vector<float> logp(count);
        Cpu::log_softmax(x.data(), s.rows, s.n, logp.data());
        const auto t = targets(s.rows, s.n, gen);
        const auto w = uniform(static_cast<std::size_t>(s.n), 0.5f, 2.0f, gen);
        const float* wc = weighted ? w.data() : nullptr;
        i64 bad_row = 0, bad_value = 0;
        const double total = Cpu::scan_targets(t.data(), s.rows, s.n, ignore, wc, &bad_row, &bad_value);
        const double divisor = per_row ? 1.0 : total > 0 ? total : 1.0;  // the mean's divisor
        const auto logp_d = dev(logp);
        const auto t_d = dev(t);
        const auto w_d = dev(w);
        const float* wg = weighted ? w_d.data() : nullptr;

        const i64 outs = per_row ? s.rows : 1;
        std::vector<float> loss_c(static_cast<std::size_t>(outs));
        Cpu::nll_loss(logp.data(), s.rows, s.n, t.data(), ignore, wc, divisor, per_row, loss_c.data());
        auto loss_d = poisoned<float>(outs, nan_f);
        cuda_kernels::nll_loss(logp_d.data(), s.rows, s.n, t_d.data(), ignore, wg, divisor, per_row, loss_d.data());
        if (per_row) check_bits(host(loss_d), loss_c, "per-row loss");  // each row's double terms, rounded once
        else check_close(host(loss_d), loss_c, "reduced loss", 1e-6);

        const auto grad = uniform(static_cast<std::size_t>(outs), 0.5f, 2.0f, gen);
        std::vector<float> dx_c(count);
        Cpu::nll_loss_backward(s.rows, s.n, t.data(), ignore, wc, divisor, per_row, grad.data(), dx_c.data());
        const auto grad_d = dev(grad);
        auto dx_d = poisoned<float>(static_cast<i64>(count), nan_f);
        cuda_kernels::nll_loss_backward(s.rows, s.n, t_d.data(), ignore, wg, divisor, per_row, grad_d.data(),
                                        dx_d.data());
        check_bits(host(dx_d), dx_c, "dlogp");
      }
    }
  }
}

TEST_CASE("cuda sigmoid and its backward match the cpu kernels", "[cuda]") {
  std::mt19937 gen(12);
  for (const i64 count : {i64{1}, i64{2}, i64{37}, i64{1000}, i64{4099}, i64{300001}}) {
    INFO("count " << count);
    auto x = normal(static_cast<std::size_t>(count), 0.0f, 6.0f, gen);
    x[0] = count > 1 ? 0.0f : x[0];
    if (count > 3) x[1] = 95.0f, x[2] = -95.0f, x[3] = -0.0f;  // the ends, where exp(-|x|) leaves float's range
    std::vector<float> y_c(x.size());
    Cpu::sigmoid(x.data(), count, y_c.data());
    const auto x_d = dev(x);
    auto y_d = poisoned<float>(count, nan_f);
    cuda_kernels::sigmoid(x_d.data(), count, y_d.data());
    check_close(host(y_d), y_c, "y", 1e-6);

    const auto dy = normal(x.size(), 0.0f, 1.0f, gen);
    std::vector<float> dx_c(x.size());
    Cpu::sigmoid_backward(y_c.data(), dy.data(), count, dx_c.data());
    const auto yc_d = dev(y_c), dy_d = dev(dy);
    auto dx_d = poisoned<float>(count, nan_f);
    cuda_kernels::sigmoid_backward(yc_d.data(), dy_d.data(), count, dx_d.data());
    check_bits(host(dx_d), dx_c, "dx");  // dy y (1 - y): the same three operations
  }
}

TEST_CASE("cuda binary cross-entropy on logits and its backward match the cpu kernels", "[cuda]") {
  std::mt19937 gen(13);
  for (const RowShape s : shapes) {
    for (const bool weighted : {false, true}) {
      for (const bool per_element : {false, true}) {
        INFO("rows " << s.rows << ", n " << s.n << ", weighted " << weighted << ", per_element " << per_element);
        const i64 count = s.rows * s.n;
        const auto cs = static_cast<std::size_t>(count);
        const auto x = normal(cs, 0.0f, 4.0f, gen);
        const auto y = uniform(cs, 0.0f, 1.0f, gen);  // soft targets
        const auto w = uniform(static_cast<std::size_t>(s.n), 0.5f, 2.0f, gen);
        const auto pw = uniform(static_cast<std::size_t>(s.n), 0.5f, 3.0f, gen);
        const float* wc = weighted ? w.data() : nullptr;
        const float* pwc = weighted ? pw.data() : nullptr;
        const double divisor = per_element ? 1.0 : static_cast<double>(count);
        const auto x_d = dev(x), y_d = dev(y), w_d = dev(w), pw_d = dev(pw);
        const float* wg = weighted ? w_d.data() : nullptr;
        const float* pwg = weighted ? pw_d.data() : nullptr;

        const i64 outs = per_element ? count : 1;
        std::vector<float> loss_c(static_cast<std::size_t>(outs));
        Cpu::bce_with_logits(x.data(), y.data(), count, s.n, wc, pwc, divisor, per_element, loss_c.data());
        auto loss_d = poisoned<float>(outs, nan_f);
        cuda_kernels::bce_with_logits(x_d.data(), y_d.data(), count, s.n, wg, pwg, divisor, per_element,
                                      loss_d.data());
        check_close(host(loss_d), loss_c, "loss");

        const auto grad = uniform(static_cast<std::size_t>(outs), 0.5f, 2.0f, gen);
        std::vector<float> dx_c(cs);
        Cpu::bce_with_logits_backward(x.data(), y.data(), count, s.n, wc, pwc, divisor, per_element, grad.data(),
                                      dx_c.data());
        const auto grad_d = dev(grad);
        auto dx_d = poisoned<float>(count, nan_f);
        cuda_kernels::bce_with_logits_backward(x_d.data(), y_d.data(), count, s.n, wg, pwg, divisor, per_element,
                                               grad_d.data(), dx_d.data());
        check_close(host(dx_d), dx_c, "dx");
      }
    }
  }
}

TEST_CASE("cuda loss kernels loop past their grid: more rows and elements than one grid covers", "[cuda]") {
  std::mt19937 gen(14);
  // a warp per row: 65536 blocks of 8 rows cover 524288 rows; a block per row: 65536 rows
  for (const RowShape s : {RowShape{600000, 2}, RowShape{70000, 513}}) {
    INFO("rows " << s.rows << ", n " << s.n);
    const auto count = static_cast<std::size_t>(s.rows * s.n);
    const auto x = normal(count, 0.0f, 3.0f, gen);
    std::vector<float> y_c(count);
    Cpu::log_softmax(x.data(), s.rows, s.n, y_c.data());
    std::vector<i64> arg_c(static_cast<std::size_t>(s.rows));
    Cpu::argmax(x.data(), s.rows, s.n, arg_c.data());
    const auto x_d = dev(x);
    auto y_d = poisoned<float>(static_cast<i64>(count), nan_f);
    cuda_kernels::log_softmax(x_d.data(), s.rows, s.n, y_d.data());
    check_close(host(y_d), y_c, "log_softmax");
    auto arg_d = poisoned<i64>(s.rows, -7);
    cuda_kernels::argmax(x_d.data(), s.rows, s.n, arg_d.data());
    CHECK(host(arg_d) == arg_c);
  }
  // element-wise: 65536 blocks of 256 threads cover 16777216 elements
  const i64 count = (i64{1} << 24) + 1001;
  const auto x = normal(static_cast<std::size_t>(count), 0.0f, 4.0f, gen);
  std::vector<float> y_c(x.size());
  Cpu::sigmoid(x.data(), count, y_c.data());
  const auto x_d = dev(x);
  auto y_d = poisoned<float>(count, nan_f);
  cuda_kernels::sigmoid(x_d.data(), count, y_d.data());
  check_close(host(y_d), y_c, "sigmoid", 1e-6);
}
