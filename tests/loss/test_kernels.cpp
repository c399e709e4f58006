// The float kernels' building blocks and every row shape they treat differently: the one exp (scalar and
// 8 lanes), rows shorter than a vector, rows whose last vector overlaps the one before, long rows, rows far
// from zero or holding inf and NaN. Each float result is checked against the same operation in double, in
// the AVX2 kernels (where the CPU has them) and in the portable ones.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <vector>
#include <fastpp/backend/cpu/loss_kernels.hpp>
#include <fastpp/core/rng.hpp>
#include <fastpp/loss.hpp>

#include "fixture.hpp"

using namespace fastpp;

namespace {

template <class T>
Tensor<double> to_double(const Tensor<T>& t) {
  auto d = Tensor<double>::empty(t.shape());
  for (std::int64_t i = 0; i < t.numel(); ++i) d.data()[i] = static_cast<double>(t.data()[i]);
  return d;
}

std::vector<double> values(const Tensor<double>& t) { return std::vector<double>(t.data(), t.data() + t.numel()); }

// CHECK that float `got` is within `tol` of the double `ref`, naming the first element that is not.
void check_close(const Tensor<float>& got, const Tensor<double>& ref, loss_test::Tolerance tol, const std::string& what) {
  INFO(what);
  double worst = 0;
  const auto bad = loss_test::first_mismatch(got, values(ref), tol, &worst);
  INFO("first bad element " << bad << ", worst error / bound " << worst);
  CHECK(bad == -1);
}

#if defined(FASTPP_LOSS_AVX2)
// The exp on 8 lanes, as the AVX2 kernels run it.
__attribute__((target("avx2,fma"))) void exp8(const float* in, float* out) {
  backend::cpu_detail::v8f v = _mm256_loadu_ps(in);
  backend::cpu_detail::exp_nonpos(v);
  _mm256_storeu_ps(out, v);
}
#endif

double exp_ulps(float got, double x) {
  const double r = std::exp(x);
  const float rf = static_cast<float>(r);
  return std::fabs(static_cast<double>(got) - r) / static_cast<double>(std::nextafter(rf, INFINITY) - rf);
}

}  // namespace

TEST_CASE("the loss exp is within 2 ulp of exp for x <= 0, flushes below 2^-126 and keeps NaN", "[loss]") {
  using backend::cpu_detail::exp_nonpos_value;
  double worst = 0, worst8 = 0;
  std::int64_t far_off = 0;
  for (float x = 0.0f; x > -104.0f; x -= 0.0009765625f * (1.0f + std::fabs(x))) {
    const double r = std::exp(static_cast<double>(x));
    if (r < 0x1p-126) {  // flushed, or subnormal: the absolute error is what counts
      far_off += !(std::fabs(static_cast<double>(exp_nonpos_value(x)) - r) <= 0x1p-126);
      continue;
    }
    worst = std::fmax(worst, exp_ulps(exp_nonpos_value(x), x));
#if defined(FASTPP_LOSS_AVX2)
    if (backend::cpu_detail::loss_use_avx2()) {  // 8 neighbours of x in the 8 lanes
      float in[8], out[8];
      for (int k = 0; k < 8; ++k) in[k] = std::fmin(0.0f, x + 1e-3f * static_cast<float>(k));
      exp8(in, out);
      for (int k = 0; k < 8; ++k) worst8 = std::fmax(worst8, exp_ulps(out[k], in[k]));
    }
#endif
  }
  CHECK(worst <= 2.0);
  CHECK(worst8 <= 2.0);
  CHECK(far_off == 0);
  CHECK(exp_nonpos_value(0.0f) == 1.0f);
  CHECK(exp_nonpos_value(-88.0f) == 0.0f);
  CHECK(exp_nonpos_value(-1e4f) == 0.0f);
  CHECK(exp_nonpos_value(-INFINITY) == 0.0f);
  CHECK(std::isnan(exp_nonpos_value(NAN)));
#if defined(FASTPP_LOSS_AVX2)
  if (backend::cpu_detail::loss_use_avx2()) {
    const float edges[8] = {0.0f, -88.0f, -1e4f, -INFINITY, NAN, -87.3f, -0.5f, -20.0f};
    float out[8];
    exp8(edges, out);
    CHECK(out[0] == 1.0f);
    CHECK((out[1] == 0.0f && out[2] == 0.0f && out[3] == 0.0f));
    CHECK(std::isnan(out[4]));
    for (int k = 5; k < 8; ++k) CHECK(out[k] == exp_nonpos_value(edges[k]));  // lanes agree with the scalar
  }
#endif
}

TEST_CASE("float kernels agree with double for every row shape the AVX2 code treats differently", "[loss]") {
  // (rows, classes): rows shorter than a vector, whole vectors, a last vector that overlaps the one before
  // (every remainder of 8), long rows; in the AVX2 and the portable kernels.
  const auto isa = GENERATE(true, false);
  const loss_test::IsaScope scope(isa);
  const std::pair<std::int64_t, std::int64_t> shapes[] = {{5, 5},  {3, 7},   {3, 8},   {17, 9},  {4, 10}, {4, 11}, {4, 12},
                                                          {4, 13}, {4, 14},   {4, 15},  {29, 16}, {41, 37}, {13, 63}, {9, 65},
                                                          {11, 1000}};
  const double u = 0x1p-24;
  Rng rng(11);
  for (const auto& [n, c] : shapes) {
    INFO("N = " << n << ", C = " << c);
    auto x = Tensor<float>::empty({n, c}), dy = Tensor<float>::empty({n, c});
    for (auto& v : x) v = static_cast<float>(rng.normal() * 3);
    for (auto& v : dy) v = static_cast<float>(rng.normal());
    auto t = Tensor<std::int64_t>::empty({n});
    for (auto& v : t) v = static_cast<std::int64_t>(rng.below(static_cast<std::uint32_t>(c)));
    if (n > 2) t.data()[1] = -100;  // an ignored row inside a group
    auto weight = Tensor<float>::empty({c});
    for (auto& v : weight) v = static_cast<float>(0.5 + rng.uniform());
    const auto xd = to_double(x), dyd = to_double(dy);
    const double xmax = loss_test::max_abs(values(xd));
    const loss_test::Tolerance row_tol{u, static_cast<double>(c), 1.0}, lse_tol{u, static_cast<double>(c), xmax},
        loss_tol{u, static_cast<double>(n + c), xmax}, grad_tol{u, static_cast<double>(n + c), 1.0};

    const auto y = softmax(x), ly = log_softmax(x);
    check_close(y, softmax(xd), row_tol, "softmax");
    check_close(ly, log_softmax(xd), lse_tol, "log_softmax");
    check_close(softmax_backward(y, dy), softmax_backward(softmax(xd), dyd), {u, 2.0 * static_cast<double>(c), 1.0},
                "softmax_backward");
    check_close(log_softmax_backward(ly, dy), log_softmax_backward(log_softmax(xd), dyd),
                {u, 2.0 * static_cast<double>(c), 1.0}, "log_softmax_backward");

    for (const bool weighted : {false, true}) {
      INFO("class weights: " << weighted);
      NllOptions o;
      if (weighted) o.weight = weight;
      auto grad = Tensor<float>::full({1}, 1.0f);
      auto loss = Tensor<float>::empty({1});
      auto dx = Tensor<float>::full({n, c}, 7.0f);
      cross_entropy_forward_backward_out(x, t, o, grad, loss, dx);
      auto lossd = Tensor<double>::empty({1});
      auto dxd = Tensor<double>::empty({n, c});
      cross_entropy_forward_backward_out(xd, t, o, Tensor<double>::full({1}, 1.0), lossd, dxd);
      check_close(loss, lossd, loss_tol, "cross_entropy");
      check_close(dx, dxd, grad_tol, "cross_entropy gradient");
      check_close(cross_entropy(x, t, o), cross_entropy(xd, t, o), loss_tol, "cross_entropy forward");

      LabelSmoothingOptions lo{.eps = 0.1, .weight = o.weight, .reduction = Reduction::sum};
      auto lsdx = Tensor<float>::empty({n, c});
      auto lsdxd = Tensor<double>::empty({n, c});
      cross_entropy_forward_backward_out(x, t, lo, grad, loss, lsdx);
      cross_entropy_forward_backward_out(xd, t, lo, Tensor<double>::full({1}, 1.0), lossd, lsdxd);
      check_close(loss, lossd, {u, static_cast<double>(n + c), xmax * static_cast<double>(c)}, "label smoothing");
      check_close(lsdx, lsdxd, grad_tol, "label smoothing gradient");
    }
  }
}

TEST_CASE("rows whose maxima lie far apart, or hold inf or NaN, still agree with double", "[loss]") {
  // Each row is shifted by its own maximum, so neighbouring rows far apart do not disturb each other.
  const loss_test::IsaScope scope(GENERATE(true, false));
  const std::int64_t n = 24, c = 37;
  const double u = 0x1p-24;
  Rng rng(21);
  auto x = Tensor<float>::empty({n, c});
  for (auto& v : x) v = static_cast<float>(rng.normal() * 3);
  for (std::int64_t j = 0; j < c; ++j) {
    x.data()[3 * c + j] -= 80.0f;   // group 0: one row far below the others (exp(x - M) would flush it)
    x.data()[12 * c + j] += 90.0f;  // group 1: one row far above
  }
  auto t = Tensor<std::int64_t>::empty({n});
  for (auto& v : t) v = static_cast<std::int64_t>(rng.below(static_cast<std::uint32_t>(c)));
  const auto xd = to_double(x);
  const double xmax = loss_test::max_abs(values(xd));
  auto grad = Tensor<float>::full({1}, 1.0f);
  auto loss = Tensor<float>::empty({1}), dx = Tensor<float>::empty({n, c});
  auto lossd = Tensor<double>::empty({1}), dxd = Tensor<double>::empty({n, c});
  cross_entropy_forward_backward_out(x, t, {}, grad, loss, dx);
  cross_entropy_forward_backward_out(xd, t, {}, Tensor<double>::full({1}, 1.0), lossd, dxd);
  check_close(loss, lossd, {u, static_cast<double>(n + c), xmax}, "cross_entropy");
  check_close(dx, dxd, {u, static_cast<double>(n + c), 1.0}, "cross_entropy gradient");

  // an inf logit gives NaN in its row (inf - inf), NaN stays NaN; other rows keep their values
  x.data()[5 * c + 2] = INFINITY;
  x.data()[20 * c + 7] = NAN;
  cross_entropy_forward_backward_out(x, t, {}, grad, loss, dx);
  CHECK(std::isnan(loss.data()[0]));
  CHECK(std::isnan(dx.data()[5 * c + 2]));
  CHECK(std::isnan(dx.data()[20 * c]));
  CHECK(std::isfinite(dx.data()[16 * c]));  // rows of the same group without inf or NaN keep their values
  CHECK(dx.data()[16 * c] == Approx(static_cast<float>(dxd.data()[16 * c])).epsilon(1e-5));
}

TEST_CASE("short rows of logits near +-1000 agree with double", "[loss]") {
  // x - max is formed before anything is rounded: rows far from zero keep the accuracy of rows near it.
  const loss_test::IsaScope scope(GENERATE(true, false));
  const std::int64_t n = 24, c = 37;
  const double u = 0x1p-24;
  Rng rng(31);
  auto x = Tensor<float>::empty({n, c});
  const float offsets[3] = {1000.0f, -1030.0f, 1100.0f};  // largest logits about 1009, -1021, 1109
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < c; ++j) x.data()[i * c + j] = offsets[i / 8] + static_cast<float>(rng.normal() * 3);
  auto t = Tensor<std::int64_t>::empty({n});
  for (auto& v : t) v = static_cast<std::int64_t>(rng.below(static_cast<std::uint32_t>(c)));
  const auto xd = to_double(x);
  const double xmax = loss_test::max_abs(values(xd));
  for (const auto reduction : {Reduction::none, Reduction::mean}) {
    INFO("reduction " << static_cast<int>(reduction));
    NllOptions o;
    o.reduction = reduction;
    auto grad = reduction == Reduction::none ? Tensor<float>::full({n}, 1.0f) : Tensor<float>::full({1}, 1.0f);
    auto gradd = reduction == Reduction::none ? Tensor<double>::full({n}, 1.0) : Tensor<double>::full({1}, 1.0);
    auto loss = Tensor<float>::empty({reduction == Reduction::none ? n : 1}), dx = Tensor<float>::empty({n, c});
    auto lossd = Tensor<double>::empty(loss.shape()), dxd = Tensor<double>::empty({n, c});
    cross_entropy_forward_backward_out(x, t, o, grad, loss, dx);
    cross_entropy_forward_backward_out(xd, t, o, gradd, lossd, dxd);
    check_close(loss, lossd, {u, static_cast<double>(n + c), xmax}, "cross_entropy");
    check_close(dx, dxd, {u, static_cast<double>(n + c), 1.0}, "cross_entropy gradient");
    check_close(cross_entropy(x, t, o), cross_entropy(xd, t, o), {u, static_cast<double>(n + c), xmax},
                "cross_entropy forward");
  }
  check_close(log_softmax(x), log_softmax(xd), {u, static_cast<double>(c), xmax}, "log_softmax");
  check_close(softmax(x), softmax(xd), {u, static_cast<double>(c), 1.0}, "softmax");
}

TEST_CASE("the backwards refuse an output that shares memory with their inputs", "[loss]") {
  // The kernels read rows of the inputs after writing parts of the output (the AVX2 loops' last vector
  // overlaps the one before), so an in-place backward would read values it already overwrote: it is an
  // error, named, not a wrong result.
  auto y = softmax(Tensor<float>::full({4, 37}, 0.5f));
  auto dy = Tensor<float>::full({4, 37}, 1.0f);
  CHECK_THROWS_WITH(softmax_backward_out(y, dy, dy), Catch::Contains("softmax_backward") && Catch::Contains("'dy'"));
  CHECK_THROWS_WITH(softmax_backward_out(y, dy, y), Catch::Contains("'y'"));
  CHECK_THROWS_WITH(log_softmax_backward_out(y, dy, dy), Catch::Contains("log_softmax_backward"));
}
