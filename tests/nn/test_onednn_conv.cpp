// oneDNN's convolutions (the cpu's default where fastpp was built with libdnnl-dev) against fastpp's own
// im2col + GEMM kernels, on the geometries the layers can ask for: the same sums in another order.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <fastpp/backend/cpu/layer_kernels.hpp>
#include <fastpp/core/thread_pool.hpp>

#include "../support/conv_library.hpp"
#include "../support/skip.hpp"

using namespace fastpp;
using backend::ConvGeom;
using Kernels = backend::layer_kernels<cpu>;

namespace {
std::vector<float> wave(std::int64_t n, float step, float phase) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<float>(i) * step + phase);
  return v;
}

struct Result {
  std::vector<float> y, dx, dw, dbias;
};

// Forward, then backward with dy = sin(...) into a dw and dbias that already hold values (both add to them).
Result run(ConvLibrary library, const ConvGeom& g, bool bias, bool want_dw = true, bool want_dx = true,
           Kernels::workspace* reuse = nullptr) {
  ConvLibraryScope scope(library);
  const auto x = wave(g.n * g.h * g.w * g.cin, 0.37f, 0.1f);
  const auto w = wave(g.cout * g.kh * g.kw * g.cg(), 0.53f, 0.7f);
  const auto b = wave(g.cout, 1.1f, 0.2f);
  const auto dy = wave(g.n * g.ho() * g.wo() * g.cout, 0.29f, 1.3f);
  Result r;
  r.y.resize(dy.size());
  r.dx.assign(want_dx ? x.size() : 0, 0.0f);
  r.dw = wave(static_cast<std::int64_t>(w.size()), 0.11f, 0.4f);
  r.dbias = wave(g.cout, 0.7f, 0.9f);
  Kernels::workspace own_ws;
  auto& ws = reuse ? *reuse : own_ws;
  Kernels::conv2d_forward(x.data(), w.data(), bias ? b.data() : nullptr, g, r.y.data(), ws);
  Kernels::conv2d_backward(x.data(), w.data(), dy.data(), g, want_dw ? r.dw.data() : nullptr,
                           bias ? r.dbias.data() : nullptr, want_dx ? r.dx.data() : nullptr, ws);
  return r;
}

// |a - b| within a relative 1e-5 of the largest magnitude (oneDNN sums in its own order, in float).
void check_close(const std::vector<float>& a, const std::vector<float>& b, const char* what) {
  INFO(what);
  REQUIRE(a.size() == b.size());
  float scale = 1.0f, worst = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i) scale = std::max(scale, std::abs(a[i]));
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  CHECK(worst <= 1e-5f * scale);
}

void check_same(const std::vector<float>& a, const std::vector<float>& b) { CHECK(a == b); }
}  // namespace

TEST_CASE("oneDNN's convolutions agree with fastpp's kernels", "[nn][onednn]") {
  if (!onednn_available) FASTPP_SKIP("built without oneDNN (Debian's libdnnl-dev)");
  // n, h, w, cin, cout, kh, kw, stride, pad, dil, groups
  const std::vector<ConvGeom> geometries{
      {2, 9, 9, 8, 16, 3, 3, 2, 1, 1, 1},     // a stride-2 3x3
      {3, 11, 7, 3, 8, 7, 7, 2, 3, 1, 1},     // ResNet's stem, not square
      {2, 8, 8, 16, 32, 1, 1, 1, 0, 1, 1},    // 1x1 (fastpp: one GEMM, no im2col)
      {2, 8, 8, 16, 32, 1, 1, 2, 0, 1, 1},    // ResNet's downsample
      {2, 10, 10, 8, 8, 3, 3, 1, 2, 2, 1},    // dilation 2
      {2, 6, 6, 8, 12, 3, 3, 1, 1, 1, 4},     // 4 groups
      {2, 6, 6, 8, 8, 3, 3, 1, 1, 1, 8},      // depthwise
      {2, 6, 6, 4, 4, 3, 3, 2, 1, 1, 1},      // the right padding oneDNN needs is 0, the left 1
      {4, 28, 28, 1, 16, 3, 3, 1, 1, 1, 1},   // the main job's stem: one input channel
      {5, 4, 4, 128, 128, 3, 3, 1, 1, 1, 1},  // its last stage
  };
  for (const auto& g : geometries) {
    for (bool bias : {false, true}) {
      INFO("geometry n " << g.n << " h " << g.h << " w " << g.w << " cin " << g.cin << " cout " << g.cout << " k "
                         << g.kh << "x" << g.kw << " stride " << g.stride << " pad " << g.pad << " dil " << g.dil
                         << " groups " << g.groups << " bias " << bias);
      const auto own = run(ConvLibrary::fastpp, g, bias);
      const auto dnn = run(ConvLibrary::onednn, g, bias);
      check_close(own.y, dnn.y, "y");
      check_close(own.dx, dnn.dx, "dx");
      check_close(own.dw, dnn.dw, "dw (added to what it held)");
      check_close(own.dbias, dnn.dbias, "dbias (added to what it held)");
    }
  }
}

TEST_CASE("oneDNN's convolution: frozen weights, no input gradient, a new batch size, a new thread count",
          "[nn][onednn]") {
  if (!onednn_available) FASTPP_SKIP("built without oneDNN (Debian's libdnnl-dev)");
  const ConvGeom g{3, 9, 9, 8, 16, 3, 3, 1, 1, 1, 1};
  const auto full = run(ConvLibrary::onednn, g, true);
  SECTION("dw or dx left out: the other is unchanged, the one left out is not touched") {
    const auto no_dw = run(ConvLibrary::onednn, g, true, false, true);
    check_same(no_dw.dx, full.dx);
    check_same(no_dw.dw, wave(static_cast<std::int64_t>(full.dw.size()), 0.11f, 0.4f));
    const auto no_dx = run(ConvLibrary::onednn, g, true, true, false);
    check_same(no_dx.dw, full.dw);
  }
  SECTION("one workspace through geometries and thread counts (the slot makes its primitives again)") {
    Kernels::workspace ws;
    const ConvGeom last_batch{1, 9, 9, 8, 16, 3, 3, 1, 1, 1, 1};
    const auto own_last = run(ConvLibrary::fastpp, last_batch, true);
    check_same(run(ConvLibrary::onednn, g, true, true, true, &ws).y, full.y);
    const auto dnn_last = run(ConvLibrary::onednn, last_batch, true, true, true, &ws);
    check_close(own_last.y, dnn_last.y, "y of a smaller batch");
    check_close(own_last.dw, dnn_last.dw, "dw of a smaller batch");
    const int before = get_num_threads();
    set_num_threads(1);
    const auto one_thread = run(ConvLibrary::onednn, g, true, true, true, &ws);
    set_num_threads(before);
    check_close(one_thread.y, full.y, "y on one thread");
    check_close(one_thread.dw, full.dw, "dw on one thread");
    Kernels::workspace copied = ws;  // a copy starts without primitives
    check_same(run(ConvLibrary::onednn, g, true, true, true, &copied).dw, full.dw);
  }
  SECTION("the same thread count gives the same bits") {
    const auto again = run(ConvLibrary::onednn, g, true);
    check_same(again.y, full.y);
    check_same(again.dx, full.dx);
    check_same(again.dw, full.dw);
  }
}
