// Logits far from zero: offset + 3 z at offsets 0, +-30, +-100, +-1e3, +-1e4 (16 x 37 and 16 x 1000).
// Every loss and gradient path in float32 (fused forward+backward, forward then backward from the saved
// lse, log_softmax, label smoothing; AVX2 and portable kernels) stays within 4 times PyTorch float32's own
// error on the same logits (tests/fixtures/loss/make_far_offsets.py), or 4 half-ulps of the largest
// value where PyTorch happened to do better than half an ulp.
#include <catch2/catch.hpp>
#include <cmath>
#include <fastpp/loss.hpp>
#include <string>

#include "fixture.hpp"

using namespace fastpp;

namespace {

// The generator make_far_offsets.py uses: splitmix64, 24-bit uniforms, 12 of them summed minus 6.
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

struct FarCase {
  Tensor<float> x;
  Tensor<double> xd;
  Tensor<std::int64_t> t;
  std::string key;
};

FarCase draw(int k) {
  const std::string key = "far" + std::to_string(k);
  const auto& c = loss_test::rec(key + "_case").values;
  const auto n = static_cast<std::int64_t>(c[0]), cls = static_cast<std::int64_t>(c[1]);
  SplitMix64 rng{static_cast<std::uint64_t>(c[3])};
  auto x = Tensor<float>::empty({n, cls});
  for (auto& v : x) {
    double z = -6.0;
    for (int u = 0; u < 12; ++u) z += static_cast<double>(rng.next() >> 40) * 0x1p-24;
    v = static_cast<float>(c[2] + 3.0 * z);
  }
  auto t = Tensor<std::int64_t>::empty({n});
  for (auto& v : t) v = static_cast<std::int64_t>(rng.next() % static_cast<std::uint64_t>(cls));
  return {x, x.cast<double>(), t, key};
}

double max_abs_error(const Tensor<float>& got, const Tensor<double>& ref) {
  double e = 0;
  for (std::int64_t i = 0; i < got.numel(); ++i)
    e = std::fmax(e, std::fabs(static_cast<double>(got.data()[i]) - ref.data()[i]));
  return got.numel() == ref.numel() ? e : INFINITY;
}

// The double result must equal PyTorch's float64 one (all of it, or at the stored (row, column) pairs).
void check_reference(const Tensor<double>& got, const std::string& name, bool at_pairs) {
  const auto& ref = loss_test::rec(name + (at_pairs ? "_at" : "")).values;
  const auto& at = loss_test::rec(name.substr(0, name.find('_')) + "_at").values;
  const std::int64_t cols = got.rank() == 2 ? got.size(1) : 0;
  for (std::size_t k = 0; k < ref.size(); ++k) {
    const double v = at_pairs ? got.data()[static_cast<std::int64_t>(at[2 * k]) * cols + static_cast<std::int64_t>(at[2 * k + 1])]
                              : got.data()[k];
    INFO(name << " value " << k);
    CHECK(std::fabs(v - ref[k]) <= 1e-11 * (1.0 + std::fabs(ref[k])));
  }
}

}  // namespace

TEST_CASE("far from zero every loss and gradient stays within 4x PyTorch float32's error", "[loss]") {
  const int k = GENERATE(range(0, 18));
  const loss_test::IsaScope isa(GENERATE(true, false));
  const auto [x, xd, t, key] = draw(k);
  const std::int64_t n = x.size(0);
  INFO(key << ": " << x.size(0) << "x" << x.size(1) << " at offset " << loss_test::rec(key + "_case").values[2]
                << (backend::cpu_detail::loss_use_avx2() ? ", AVX2 kernels" : ", portable kernels"));
  const auto& torch_err = loss_test::rec(key + "_err").values;  // ce, ce_mean, ce_grad, logsm, ls, ls_grad
  const LabelSmoothingOptions ls_none{.reduction = Reduction::none}, ls_mean{};
  const auto one = Tensor<float>::full({1}, 1.0f);
  const auto oned = Tensor<double>::full({1}, 1.0);

  // float64 results, checked against PyTorch's float64 ones
  const auto ce = cross_entropy(xd, t, {.reduction = Reduction::none});
  auto ce_mean = Tensor<double>::empty({1}), ce_grad = Tensor<double>::empty(x.shape());
  cross_entropy_forward_backward_out(xd, t, {}, oned, ce_mean, ce_grad);
  const auto logsm = log_softmax(xd);
  const auto ls = cross_entropy(xd, t, ls_none);
  auto ls_mean_d = Tensor<double>::empty({1}), ls_grad = Tensor<double>::empty(x.shape());
  cross_entropy_forward_backward_out(xd, t, ls_mean, oned, ls_mean_d, ls_grad);
  check_reference(ce, key + "_ce", false);
  check_reference(ce_mean, key + "_ce_mean", false);
  check_reference(ce_grad, key + "_ce_grad", true);
  check_reference(logsm, key + "_logsm", true);
  check_reference(ls, key + "_ls", false);
  check_reference(ls_grad, key + "_ls_grad", true);

  // float32: 4 x PyTorch's error, or 4 half-ulps of the largest reference value where PyTorch did better
  const auto within = [&](const char* what, const Tensor<float>& got, const Tensor<double>& ref, int q) {
    double largest = 0;
    for (const double v : ref) largest = std::fmax(largest, std::fabs(v));
    const double bound = 4.0 * std::fmax(torch_err[static_cast<std::size_t>(q)], 0x1p-24 * largest);
    const double err = max_abs_error(got, ref);
    INFO(what << ": error " << err << ", PyTorch float32 " << torch_err[static_cast<std::size_t>(q)] << ", bound "
              << bound);
    CHECK(err <= bound);
  };
  within("cross_entropy none", cross_entropy(x, t, {.reduction = Reduction::none}), ce, 0);
  within("cross_entropy mean", cross_entropy(x, t), ce_mean, 1);
  auto loss = Tensor<float>::empty({1}), lse = Tensor<float>::empty({n}), dx = Tensor<float>::empty(x.shape());
  cross_entropy_forward_backward_out(x, t, {}, one, loss, dx);
  within("fused cross_entropy loss", loss, ce_mean, 1);
  within("fused cross_entropy gradient", dx, ce_grad, 2);
  cross_entropy_out(x, t, {}, loss, lse);
  cross_entropy_backward_out(x, t, {}, lse, one, dx);
  within("two-pass cross_entropy gradient", dx, ce_grad, 2);
  within("log_softmax", log_softmax(x), logsm, 3);
  within("label smoothing none", cross_entropy(x, t, ls_none), ls, 4);
  cross_entropy_forward_backward_out(x, t, ls_mean, one, loss, dx);
  within("fused label smoothing gradient", dx, ls_grad, 5);
  cross_entropy_out(x, t, ls_mean, loss, lse);
  cross_entropy_backward_out(x, t, ls_mean, lse, one, dx);
  within("two-pass label smoothing gradient", dx, ls_grad, 5);
}
