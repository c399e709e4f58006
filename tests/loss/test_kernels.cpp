// The float kernels' own building blocks and every row shape they treat differently: the AVX2 exp and log,
// rows shorter than a vector, the transposed 8x8 tiles of short rows (8 to 64 classes, any remainder of
// 8), long rows one at a time, batches that do not fill the last group of 8 rows, and outputs larger than
// the cache, which are written through a staging buffer with streaming stores. Each float result is
// checked against the same operation in double.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <vector>
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

bool same_bits(const float* a, const float* b, std::int64_t n) { return std::memcmp(a, b, sizeof(float) * n) == 0; }

#if defined(FASTPP_LOSS_SIMD)
// Whether the flat kernels take group g (rows 8g to 8g + 7) of x, [N, C] with 8 <= C <= 64: the fused pass
// with cross-entropy's coefficients (a = b = 1, c = 0) and the forward passes' logsumexp.
bool fused_flat_takes(const Tensor<float>& x, const Tensor<std::int64_t>& t, std::int64_t g) {
  const std::int64_t c = x.size(1);
  const float a[8] = {1, 1, 1, 1, 1, 1, 1, 1}, b[8] = {1, 1, 1, 1, 1, 1, 1, 1}, cc[8] = {};
  std::vector<float> out(static_cast<std::size_t>(8 * c));
  float lse[8];
  const float* group = x.data() + 8 * g * c;
  return loss_simd::rows_softmax_loss_fused_flat(group, c, t.data() + 8 * g, a, b, cc, out.data(), lse, group);
}
bool logsumexp_flat_takes(const Tensor<float>& x, std::int64_t g) {
  float lse[8];
  const float* group = x.data() + 8 * g * x.size(1);
  return loss_simd::rows_logsumexp_flat(group, x.size(1), lse, group);
}
#endif

}  // namespace

TEST_CASE("fast_expf_nonpos and its AVX2 form are within 2 ulp of exp, and within 2^-126 of it below that", "[loss]") {
  double worst = 0, worst_simd = 0;
  for (float x = -87.3f; x <= 0.0f; x += 0.0009765625f * (1.0f + std::fabs(x))) {
    const double r = std::exp(static_cast<double>(x));
    const float rf = static_cast<float>(r);
    const double ulp = static_cast<double>(std::nextafter(rf, INFINITY) - rf);
    worst = std::fmax(worst, std::fabs(static_cast<double>(loss_math::fast_expf_nonpos(x)) - r) / ulp);
#if defined(FASTPP_LOSS_SIMD)
    const auto v = loss_simd::exp_nonpos(loss_simd::splat(x));
    worst_simd = std::fmax(worst_simd, std::fabs(static_cast<double>(v[3]) - r) / ulp);
#endif
  }
  CHECK(worst <= 2.0);
  CHECK(worst_simd <= 2.0);
  // Where e^x is below 2^-126 (x < -87.34), both stay within 2^-126 of it: flushed, or (the vector one's
  // table) a subnormal-sized value.
  int far_off = 0;  // counted with a negated <=, so that a NaN counts too
  for (float x = -89.0f; x < -87.2f; x += 0x1p-12f) {
    const double r = std::exp(static_cast<double>(x));
    far_off += !(std::fabs(static_cast<double>(loss_math::fast_expf_nonpos(x)) - r) <= 0x1p-126);
#if defined(FASTPP_LOSS_SIMD)
    far_off += !(std::fabs(static_cast<double>(loss_simd::exp_nonpos(loss_simd::splat(x))[5]) - r) <= 0x1p-126);
#endif
  }
  CHECK(far_off == 0);
  CHECK(loss_math::fast_expf_nonpos(0.0f) == 1.0f);
  CHECK(loss_math::fast_expf_nonpos(-88.0f) == 0.0f);  // below 2^-126: flushed
  CHECK(loss_math::fast_expf_nonpos(-1e4f) == 0.0f);
  CHECK(loss_math::fast_expf_nonpos(-INFINITY) == 0.0f);
  CHECK(std::isnan(loss_math::fast_expf_nonpos(NAN)));
#if defined(FASTPP_LOSS_SIMD)
  const auto edges = loss_simd::exp_nonpos(loss_simd::v8f{0.0f, -88.0f, -1e4f, -INFINITY, NAN, -87.3f, 10.0f, -0.5f});
  CHECK(edges[0] == 1.0f);
  CHECK(edges[1] == 0.0f);
  CHECK(edges[2] == 0.0f);
  CHECK(edges[3] == 0.0f);
  CHECK(std::isnan(edges[4]));
  CHECK(edges[5] > 0.0f);
  CHECK(edges[6] == Approx(std::exp(10.0)).epsilon(3e-7));  // right for positive arguments too
#endif
}

#if defined(FASTPP_LOSS_SIMD)
TEST_CASE("the AVX2 exp scaled by 2^-K keeps exp's contract for shifts up to the flat kernel's largest logit", "[loss]") {
  // exp_scaled(x, exp_shift_near(m)) is e^(x - K ln2) for K = m / ln2 rounded; the flat kernel uses it with m
  // its group's largest logit, |m| <= flat_max_logit, and x <= m.
  int off = 0, far_off = 0;  // counted with a negated <=, so that a NaN counts too
  double worst = 0;
  for (const float m : {0.0f, 0.3f, -0.2f, 7.9f, -41.5f, 88.7f, 300.25f, -640.0f, 1000.0f, -1024.0f,
                        loss_simd::flat_max_logit}) {
    INFO("m = " << m);
    const auto shift = loss_simd::exp_shift_near(m);
    const double k = std::nearbyint(static_cast<double>(m) / std::log(2.0));
    CHECK(shift.k[0] == static_cast<float>(k));
    const double s = k * std::log(2.0);  // the shift, in double (exact enough: |k| < 2^11)
    // from 87.3 below the shift up to m, in steps that land on many different k mod 8
    for (float x = static_cast<float>(s - 87.3); x <= m; x = std::nextafter(x + 0.0137f * (1.0f + std::fabs(x - m) / 8), INFINITY)) {
      const double r = std::exp(static_cast<double>(x) - s);
      const float rf = static_cast<float>(r);
      const double ulp = static_cast<double>(std::nextafter(rf, INFINITY) - rf);
      const double err = std::fabs(static_cast<double>(loss_simd::exp_scaled(loss_simd::splat(x), shift)[2]) - r) / ulp;
      off += !(err <= 2.0);
      if (err == err) worst = std::fmax(worst, err);
    }
    // below that, down to the floor and past it: within 2^-126 of e^(x - K ln2)
    for (double d = -87.3; d > -90.0; d -= 0x1p-9) {
      const float x = static_cast<float>(s + d);
      const double r = std::exp(static_cast<double>(x) - s);
      far_off += !(std::fabs(static_cast<double>(loss_simd::exp_scaled(loss_simd::splat(x), shift)[6]) - r) <= 0x1p-126);
    }
    const auto edges = loss_simd::exp_scaled(loss_simd::v8f{-INFINITY, NAN, -1e4f, m, 0, 0, 0, 0}, shift);
    CHECK(edges[0] <= 0x1p-126f);
    CHECK(edges[0] >= 0.0f);
    CHECK(std::isnan(edges[1]));
    CHECK(edges[2] <= 0x1p-126f);
    CHECK(edges[3] == Approx(std::exp(static_cast<double>(m) - s)).epsilon(3e-7));
  }
  INFO("worst error " << worst << " ulp");
  CHECK(off == 0);
  CHECK(far_off == 0);
}
#endif

#if defined(FASTPP_LOSS_SIMD)
TEST_CASE("the vector log of the row sums is within 2 ulp of log, and keeps NaN", "[loss]") {
  double worst = 0;
  for (float s = 1.0f; s < 1e5f; s *= 1.0001f) {
    const auto v = loss_simd::log8(loss_simd::splat(s));
    const double r = std::log(static_cast<double>(s));
    const float rf = static_cast<float>(r);
    const double ulp = rf == 0.0f ? 0x1p-149 : static_cast<double>(std::nextafter(std::fabs(rf), INFINITY) - std::fabs(rf));
    worst = std::fmax(worst, std::fabs(static_cast<double>(v[5]) - r) / ulp);
  }
  CHECK(worst <= 2.0);
  const auto edge = loss_simd::log4(loss_simd::v4f{1.0f, NAN, 2.0f, 0x1p-126f});
  CHECK(edge[0] == 0.0f);
  CHECK(std::isnan(edge[1]));
  CHECK(edge[2] == Approx(std::log(2.0)).epsilon(2e-7));
  CHECK(edge[3] == Approx(-126.0 * std::log(2.0)).epsilon(2e-7));
}
#endif

TEST_CASE("float kernels agree with double for every row shape the AVX2 code treats differently", "[loss]") {
  // (rows, classes): rows shorter than a vector; tiles with and without a remainder of 8; the largest tiled
  // row; the first long row; a long row; batches that are not a multiple of the 8-row group.
  const std::pair<std::int64_t, std::int64_t> shapes[] = {{5, 5},   {3, 8},   {17, 9},  {29, 16}, {41, 37},
                                                          {13, 63}, {16, 64}, {9, 65},  {11, 1000}};
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
      label_smoothing_cross_entropy_forward_backward_out(x, t, lo, grad, loss, lsdx);
      label_smoothing_cross_entropy_forward_backward_out(xd, t, lo, Tensor<double>::full({1}, 1.0), lossd, lsdxd);
      check_close(loss, lossd, {u, static_cast<double>(n + c), xmax * static_cast<double>(c)}, "label smoothing");
      check_close(lsdx, lsdxd, grad_tol, "label smoothing gradient");
    }
  }
}

TEST_CASE("short rows whose maxima lie far apart, or hold inf or NaN, still agree with double", "[loss]") {
  // The flat kernel shifts a group of 8 rows by about the group's largest logit; it declines groups whose
  // row maxima lie too far below it, inf and NaN, and largest logits beyond flat_max_logit, which then go
  // through the transposed tiles.
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
#if defined(FASTPP_LOSS_SIMD)
  CHECK_FALSE(fused_flat_takes(x, t, 0));
  CHECK_FALSE(fused_flat_takes(x, t, 1));
  CHECK(fused_flat_takes(x, t, 2));
#endif
  const auto xd = to_double(x);
  const double xmax = loss_test::max_abs(values(xd));
  auto grad = Tensor<float>::full({1}, 1.0f);
  auto loss = Tensor<float>::empty({1}), dx = Tensor<float>::empty({n, c});
  auto lossd = Tensor<double>::empty({1}), dxd = Tensor<double>::empty({n, c});
  cross_entropy_forward_backward_out(x, t, {}, grad, loss, dx);
  cross_entropy_forward_backward_out(xd, t, {}, Tensor<double>::full({1}, 1.0), lossd, dxd);
  check_close(loss, lossd, {u, static_cast<double>(n + c), xmax}, "cross_entropy");
  check_close(dx, dxd, {u, static_cast<double>(n + c), 1.0}, "cross_entropy gradient");

  // inf and NaN reach the output as they did before the flat kernel: an inf logit gives NaN in its row
  x.data()[5 * c + 2] = INFINITY;
  x.data()[20 * c + 7] = NAN;
  cross_entropy_forward_backward_out(x, t, {}, grad, loss, dx);
  CHECK(std::isnan(loss.data()[0]));
  CHECK(std::isnan(dx.data()[5 * c + 2]));
  CHECK(std::isnan(dx.data()[20 * c]));
  CHECK(std::isfinite(dx.data()[16 * c]));  // rows of the same group without inf or NaN keep their values
  CHECK(dx.data()[16 * c] == Approx(static_cast<float>(dxd.data()[16 * c])).epsilon(1e-5));
}

TEST_CASE("short rows of logits near +-1000 agree with double, in the flat kernel or, beyond its bound, the tiles", "[loss]") {
  // The flat kernels (the fused pass, which softmax uses too, and the forward's logsumexp) reduce x itself
  // (exp_scaled), not x - max: their accuracy must hold as far out as they accept groups, flat_max_logit
  // (1024); past that the tiles and the 4-row kernels take the group.
  const std::int64_t n = 24, c = 37;
  const double u = 0x1p-24;
  Rng rng(31);
  auto x = Tensor<float>::empty({n, c});
  const float offsets[3] = {1000.0f, -1030.0f, 1100.0f};  // largest logits about 1009, -1021, 1109
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < c; ++j) x.data()[i * c + j] = offsets[i / 8] + static_cast<float>(rng.normal() * 3);
  auto t = Tensor<std::int64_t>::empty({n});
  for (auto& v : t) v = static_cast<std::int64_t>(rng.below(static_cast<std::uint32_t>(c)));
#if defined(FASTPP_LOSS_SIMD)
  for (const std::int64_t g : {0, 1}) {
    CHECK(fused_flat_takes(x, t, g));
    CHECK(logsumexp_flat_takes(x, g));
  }
  CHECK_FALSE(fused_flat_takes(x, t, 2));
  CHECK_FALSE(logsumexp_flat_takes(x, 2));
#endif
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

TEST_CASE("outputs larger than the cache are streamed, row for row equal to small outputs", "[loss]") {
  // 8456 x 1000 floats is 33.8 MB: above the 32 MiB at which softmax and the cross-entropy gradient go
  // through the staging buffer and streaming stores. Every row must equal the same row computed in a small
  // batch (plain stores), bit for bit: the blocks, their edges and the partial cache lines between them.
  const std::int64_t n = 8456, c = 1000;
  REQUIRE(static_cast<std::size_t>(n * c) * sizeof(float) >= loss_detail::stream_min_bytes);
  Rng rng(5);
  auto x = Tensor<float>::empty({n, c});
  for (auto& v : x) v = static_cast<float>(rng.normal() * 3);
  auto t = Tensor<std::int64_t>::empty({n});
  for (auto& v : t) v = static_cast<std::int64_t>(rng.below(static_cast<std::uint32_t>(c)));
  const auto y = softmax(x);
  auto dx = Tensor<float>::full({n, c}, 7.0f);
  auto loss = Tensor<float>::empty({1});
  const NllOptions sum{.reduction = Reduction::sum};  // each row's gradient then does not depend on N
  cross_entropy_forward_backward_out(x, t, sum, Tensor<float>::full({1}, 1.0f), loss, dx);
  // softmax_backward and log_softmax_backward read two tensors of the output's size: with them the
  // working set passes the L3 at a third of the output size that streams alone
  const std::int64_t nb = n / 3 + 8;
  REQUIRE(loss_detail::should_stream<float>(nb, c, 2));
  REQUIRE_FALSE(loss_detail::should_stream<float>(nb, c, 0));  // the output alone is below the L3
  auto yb = Tensor<float>::empty({nb, c}), dyb = Tensor<float>::empty({nb, c});
  std::memcpy(yb.data(), y.data(), sizeof(float) * nb * c);
  for (auto& v : dyb) v = static_cast<float>(rng.normal());
  const auto sbx = softmax_backward(yb, dyb), lsbx = log_softmax_backward(yb, dyb);

  const std::int64_t rows = 24;  // a small batch: plain stores
  for (const std::int64_t start : {std::int64_t{0}, std::int64_t{1000}, std::int64_t{4097}, n - rows}) {
    INFO("rows from " << start);
    auto xs = Tensor<float>::empty({rows, c});
    std::memcpy(xs.data(), x.data() + start * c, sizeof(float) * rows * c);
    auto ts = Tensor<std::int64_t>::empty({rows});
    std::memcpy(ts.data(), t.data() + start, sizeof(std::int64_t) * rows);
    CHECK(same_bits(softmax(xs).data(), y.data() + start * c, rows * c));
    auto dxs = Tensor<float>::empty({rows, c});
    auto ls = Tensor<float>::empty({1});
    cross_entropy_forward_backward_out(xs, ts, sum, Tensor<float>::full({1}, 1.0f), ls, dxs);
    CHECK(same_bits(dxs.data(), dx.data() + start * c, rows * c));
    const std::int64_t bstart = std::min(start, nb - rows);
    auto ys = Tensor<float>::empty({rows, c}), dys = Tensor<float>::empty({rows, c});
    std::memcpy(ys.data(), yb.data() + bstart * c, sizeof(float) * rows * c);
    std::memcpy(dys.data(), dyb.data() + bstart * c, sizeof(float) * rows * c);
    CHECK(same_bits(softmax_backward(ys, dys).data(), sbx.data() + bstart * c, rows * c));
    CHECK(same_bits(log_softmax_backward(ys, dys).data(), lsbx.data() + bstart * c, rows * c));
  }
  // and the large loss agrees with double
  auto lossd = Tensor<double>::empty({1});
  auto dxd = Tensor<double>::empty({n, c});
  cross_entropy_forward_backward_out(to_double(x), t, sum, Tensor<double>::full({1}, 1.0), lossd, dxd);
  CHECK(std::fabs(static_cast<double>(loss.data()[0]) - lossd.data()[0]) <= 1e-6 * std::fabs(lossd.data()[0]) + 1e-3);
}

TEST_CASE("the backwards refuse an output that shares memory with their inputs", "[loss]") {
  // The AVX2 loops read the last, overlapping chunk of a row after writing the chunk before it, so an
  // in-place backward would read values it already overwrote: it is an error, named, not a wrong result.
  auto y = softmax(Tensor<float>::full({4, 37}, 0.5f));
  auto dy = Tensor<float>::full({4, 37}, 1.0f);
  CHECK_THROWS_WITH(softmax_backward_out(y, dy, dy), Catch::Contains("softmax_backward") && Catch::Contains("'dy'"));
  CHECK_THROWS_WITH(softmax_backward_out(y, dy, y), Catch::Contains("'y'"));
  CHECK_THROWS_WITH(log_softmax_backward_out(y, dy, dy), Catch::Contains("log_softmax_backward"));
}
