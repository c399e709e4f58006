// Runs on a GPU machine only. The convolutions (src/cuda/conv.cu, cuDNN) and linear layers (src/cuda/linear.cu,
// cuBLAS) against layer_kernels<cpu> on fresh random inputs: ResNet's shapes (the 7x7 stride-2 stem, 3x3 with
// padding 1, the 1x1 stride-2 downsample), a grouped and a depthwise convolution, dilation 2, odd sizes and a
// non-square kernel, each with and without bias; the backward with null gradients, and added twice into
// non-zero dw and dbias. The GPU's outputs (y, dx) are poisoned with NaN before each run, so an element it never
// writes fails.
//
// TF32: the float cases set FASTPP_CUDA_TF32=0 (cuDNN's FMA math, cuBLAS's default float math) and allow 2e-4,
// relative, with an absolute floor of 2e-4 times the array's largest value (different summation orders, and
// cuDNN's Winograd and FFT algorithms, which round differently from a direct sum). Every shape runs again (with
// bias) under FASTPP_CUDA_TF32=1 and allows 1e-2 (TF32 keeps 10 mantissa bits: about 1e-3 relative a product).
// The plan test: two calls at one shape keep the layer's ConvPlan, a new shape or TF32 setting makes another.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <fastpp/backend/cpu/layer_kernels.hpp>
#include <fastpp/backend/cuda/layer_kernels.hpp>
#include <fastpp/backend/cuda/stream.hpp>
#include <fastpp/core.hpp>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "compare.hpp"

using namespace fastpp;

namespace conv_linear_test {

using i64 = std::int64_t;
using cpu_kernels = backend::layer_kernels<cpu>;
using cuda_table = backend::layer_kernels<cuda>;

constexpr double float_tol = 2e-4;
constexpr double tf32_tol = 1e-2;

// Sets FASTPP_CUDA_TF32 for a scope, restoring what was there.
class Tf32Setting {
 public:
  explicit Tf32Setting(bool on) {
    if (const char* v = std::getenv(name)) previous_ = v;
    ::setenv(name, on ? "1" : "0", 1);
  }
  ~Tf32Setting() {
    if (previous_) {
      ::setenv(name, previous_->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  Tf32Setting(const Tf32Setting&) = delete;
  Tf32Setting& operator=(const Tf32Setting&) = delete;

 private:
  static constexpr const char* name = "FASTPP_CUDA_TF32";
  std::optional<std::string> previous_;
};

inline std::vector<float> random_floats(i64 n, std::mt19937& gen, float sd = 1.0f) {
  std::normal_distribution<float> d(0.0f, sd);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = d(gen);
  return v;
}

inline Tensor<float, cuda> on_gpu(const std::vector<float>& v) { return gpu_compare::device(v); }
using gpu_compare::check_close;
using gpu_compare::poisoned;
inline std::vector<float> on_host(const Tensor<float, cuda>& t) { return gpu_compare::host(t); }

// ---- convolution ----

inline std::string describe(const backend::ConvGeom& g) {
  return "n " + std::to_string(g.n) + ", " + std::to_string(g.h) + "x" + std::to_string(g.w) + ", cin " +
         std::to_string(g.cin) + ", cout " + std::to_string(g.cout) + ", kernel " + std::to_string(g.kh) + "x" +
         std::to_string(g.kw) + ", stride " + std::to_string(g.stride) + ", pad " + std::to_string(g.pad) +
         ", dil " + std::to_string(g.dil) + ", groups " + std::to_string(g.groups);
}

// n, h, w, cin, cout, kh, kw, stride, pad, dil, groups
inline std::vector<backend::ConvGeom> conv_shapes() {
  return {
      {2, 37, 37, 3, 16, 7, 7, 2, 3, 1, 1},     // ResNet's stem (odd input)
      {2, 14, 14, 16, 32, 3, 3, 1, 1, 1, 1},    // 3x3, padding 1
      {3, 15, 15, 32, 64, 1, 1, 2, 0, 1, 1},    // 1x1 stride-2 downsample (odd input)
      {2, 8, 8, 24, 16, 1, 1, 1, 0, 1, 1},      // 1x1 stride 1
      {2, 9, 11, 16, 24, 3, 3, 1, 1, 1, 4},     // grouped
      {2, 10, 10, 8, 8, 3, 3, 2, 1, 1, 8},      // depthwise, stride 2
      {2, 17, 13, 8, 12, 3, 3, 1, 2, 2, 1},     // dilation 2
      {1, 5, 7, 5, 7, 3, 2, 2, 1, 1, 1},        // odd sizes, a 3x2 kernel
      {4, 28, 28, 64, 64, 3, 3, 1, 1, 1, 1},    // a ResNet block's size (larger sums)
  };
}

// Forward, then the backward three times on the same plan: (dx only), (dw and dbias only), (all): dw and
// dbias start non-zero and get the gradient twice; dx is poisoned before each call that writes it.
inline void compare_conv(const backend::ConvGeom& g, bool with_bias, double tol, std::uint32_t seed) {
  INFO(describe(g) << ", bias " << with_bias << ", tol " << tol);
  std::mt19937 gen(seed);
  const i64 nx = g.n * g.h * g.w * g.cin, nw = g.cout * g.kh * g.kw * g.cg(), ny = g.n * g.ho() * g.wo() * g.cout;
  const auto x = random_floats(nx, gen), w = random_floats(nw, gen, 0.2f), b = random_floats(g.cout, gen);
  const auto dy = random_floats(ny, gen), dw0 = random_floats(nw, gen), db0 = random_floats(g.cout, gen);

  // the cpu: y, then dx, and dw, dbias after two accumulations
  cpu_kernels::workspace cws;
  std::vector<float> y_c(static_cast<std::size_t>(ny)), dx_c(static_cast<std::size_t>(nx)), dw_c = dw0, db_c = db0;
  cpu_kernels::conv2d_forward(x.data(), w.data(), with_bias ? b.data() : nullptr, g, y_c.data(), cws);
  for (int k = 0; k < 2; ++k)
    cpu_kernels::conv2d_backward(x.data(), w.data(), dy.data(), g, dw_c.data(), with_bias ? db_c.data() : nullptr,
                                 k == 0 ? dx_c.data() : nullptr, cws);

  const auto x_d = on_gpu(x), w_d = on_gpu(w), b_d = on_gpu(b), dy_d = on_gpu(dy);
  auto dw_d = on_gpu(dw0), db_d = on_gpu(db0);
  auto y_d = poisoned(ny), dx_d = poisoned(nx);
  cuda_table::workspace ws;
  cuda_table::conv2d_forward(x_d.data(), w_d.data(), with_bias ? b_d.data() : nullptr, g, y_d.data(), ws);
  check_close(on_host(y_d), y_c, tol, "y");

  cuda_table::conv2d_backward(x_d.data(), w_d.data(), dy_d.data(), g, nullptr, nullptr, dx_d.data(), ws);
  check_close(on_host(dx_d), dx_c, tol, "dx (no dw, no dbias)");
  CHECK(on_host(dw_d) == dw0);  // null dw and dbias: the gradients so far untouched
  CHECK(on_host(db_d) == db0);

  cuda_table::conv2d_backward(x_d.data(), w_d.data(), dy_d.data(), g, dw_d.data(),
                              with_bias ? db_d.data() : nullptr, nullptr, ws);
  dx_d = poisoned(nx);
  cuda_table::conv2d_backward(x_d.data(), w_d.data(), dy_d.data(), g, dw_d.data(),
                              with_bias ? db_d.data() : nullptr, dx_d.data(), ws);
  check_close(on_host(dw_d), dw_c, tol, "dw (dw0 + 2 gradients)");
  check_close(on_host(db_d), db_c, tol, with_bias ? "dbias (db0 + 2 gradients)" : "dbias (untouched)");
  check_close(on_host(dx_d), dx_c, tol, "dx (with dw and dbias)");

  // all null: nothing to do, nothing written
  cuda_table::conv2d_backward(x_d.data(), w_d.data(), dy_d.data(), g, nullptr, nullptr, nullptr, ws);
  cuda_runtime::synchronize_current_stream();
}

// ---- linear ----

struct LinearShape {
  i64 n, in, out;
};
inline std::vector<LinearShape> linear_shapes() {
  // one element; odd sizes; a classifier head; more than 4096 rows (dbias summed in chunks with atomicAdd)
  return {{1, 1, 1}, {7, 13, 5}, {64, 512, 37}, {5000, 33, 70}};
}

// As compare_conv: forward, backward with (dx only), then (dw, db) and (all) into non-zero dw and db.
inline void compare_linear(const LinearShape& s, bool with_bias, double tol, std::uint32_t seed) {
  INFO("n " << s.n << ", in " << s.in << ", out " << s.out << ", bias " << with_bias << ", tol " << tol);
  std::mt19937 gen(seed);
  const i64 nx = s.n * s.in, nw = s.out * s.in, ny = s.n * s.out;
  const auto x = random_floats(nx, gen), w = random_floats(nw, gen, 0.2f), b = random_floats(s.out, gen);
  const auto dy = random_floats(ny, gen), dw0 = random_floats(nw, gen), db0 = random_floats(s.out, gen);

  std::vector<float> y_c(static_cast<std::size_t>(ny)), dx_c(static_cast<std::size_t>(nx)), dw_c = dw0, db_c = db0;
  cpu_kernels::linear_forward(x.data(), w.data(), with_bias ? b.data() : nullptr, s.n, s.in, s.out, y_c.data());
  for (int k = 0; k < 2; ++k)
    cpu_kernels::linear_backward(x.data(), w.data(), dy.data(), s.n, s.in, s.out, dw_c.data(),
                                 with_bias ? db_c.data() : nullptr, k == 0 ? dx_c.data() : nullptr);

  const auto x_d = on_gpu(x), w_d = on_gpu(w), b_d = on_gpu(b), dy_d = on_gpu(dy);
  auto dw_d = on_gpu(dw0), db_d = on_gpu(db0);
  auto y_d = poisoned(ny), dx_d = poisoned(nx);
  cuda_table::linear_forward(x_d.data(), w_d.data(), with_bias ? b_d.data() : nullptr, s.n, s.in, s.out, y_d.data());
  check_close(on_host(y_d), y_c, tol, "y");

  cuda_table::linear_backward(x_d.data(), w_d.data(), dy_d.data(), s.n, s.in, s.out, nullptr, nullptr, dx_d.data());
  check_close(on_host(dx_d), dx_c, tol, "dx (no dw, no db)");
  CHECK(on_host(dw_d) == dw0);
  CHECK(on_host(db_d) == db0);

  cuda_table::linear_backward(x_d.data(), w_d.data(), dy_d.data(), s.n, s.in, s.out, dw_d.data(),
                              with_bias ? db_d.data() : nullptr, nullptr);
  dx_d = poisoned(nx);
  cuda_table::linear_backward(x_d.data(), w_d.data(), dy_d.data(), s.n, s.in, s.out, dw_d.data(),
                              with_bias ? db_d.data() : nullptr, dx_d.data());
  check_close(on_host(dw_d), dw_c, tol, "dw (dw0 + 2 gradients)");
  check_close(on_host(db_d), db_c, tol, with_bias ? "db (db0 + 2 gradients)" : "db (untouched)");
  check_close(on_host(dx_d), dx_c, tol, "dx (with dw and db)");
  cuda_runtime::synchronize_current_stream();
}

}  // namespace conv_linear_test

TEST_CASE("cuda conv2d (cuDNN) matches the cpu kernels in float, forward and backward", "[cuda]") {
  const conv_linear_test::Tf32Setting fp32(false);
  std::uint32_t seed = 1;
  for (const auto& g : conv_linear_test::conv_shapes())
    for (bool with_bias : {true, false})
      conv_linear_test::compare_conv(g, with_bias, conv_linear_test::float_tol, seed++);
}

TEST_CASE("cuda conv2d (cuDNN) with TF32 allowed stays within TF32's rounding", "[cuda]") {
  const conv_linear_test::Tf32Setting tf32(true);
  std::uint32_t seed = 100;
  for (const auto& g : conv_linear_test::conv_shapes())
    conv_linear_test::compare_conv(g, true, conv_linear_test::tf32_tol, seed++);
}

TEST_CASE("cuda linear (cuBLAS) matches the cpu kernels in float, forward and backward", "[cuda]") {
  const conv_linear_test::Tf32Setting fp32(false);
  std::uint32_t seed = 200;
  for (const auto& s : conv_linear_test::linear_shapes())
    for (bool with_bias : {true, false})
      conv_linear_test::compare_linear(s, with_bias, conv_linear_test::float_tol, seed++);
}

TEST_CASE("cuda linear (cuBLAS) with TF32 allowed stays within TF32's rounding", "[cuda]") {
  const conv_linear_test::Tf32Setting tf32(true);
  std::uint32_t seed = 300;
  for (const auto& s : conv_linear_test::linear_shapes())
    conv_linear_test::compare_linear(s, true, conv_linear_test::tf32_tol, seed++);
}

TEST_CASE("cuda conv2d keeps its plan for one shape and makes another for a new one", "[cuda]") {
  using namespace conv_linear_test;
  const Tf32Setting fp32(false);
  std::mt19937 gen(400);
  // n, h, w, cin, cout, kh, kw, stride, pad, dil, groups
  const backend::ConvGeom a{2, 12, 12, 8, 16, 3, 3, 1, 1, 1, 1};
  backend::ConvGeom b = a;
  b.n = 3;  // a smaller or larger batch: a new shape
  const i64 nw = a.cout * a.kh * a.kw * a.cg();
  const auto w = on_gpu(random_floats(nw, gen, 0.2f));
  const auto xa = random_floats(a.n * a.h * a.w * a.cin, gen), xb = random_floats(b.n * b.h * b.w * b.cin, gen);
  const auto xa_d = on_gpu(xa), xb_d = on_gpu(xb);
  auto ya = poisoned(a.n * a.ho() * a.wo() * a.cout), yb = poisoned(b.n * b.ho() * b.wo() * b.cout);
  auto dx = poisoned(a.n * a.h * a.w * a.cin);

  cuda_kernels::ConvPlan* plan = nullptr;
  cuda_kernels::conv2d_forward(xa_d.data(), w.data(), nullptr, a, ya.data(), plan);
  REQUIRE(plan != nullptr);
  cuda_kernels::ConvPlan* const first = plan;
  cuda_kernels::conv2d_forward(xa_d.data(), w.data(), nullptr, a, ya.data(), plan);
  CHECK(plan == first);  // same shape: same plan
  cuda_kernels::conv2d_backward(xa_d.data(), w.data(), ya.data(), a, nullptr, nullptr, dx.data(), plan);
  CHECK(plan == first);  // the backward at the same shape too

  cuda_kernels::conv2d_forward(xb_d.data(), w.data(), nullptr, b, yb.data(), plan);
  REQUIRE(plan != nullptr);
  CHECK(plan != first);  // a new shape: a new plan (made before the old one was freed)
  cuda_kernels::ConvPlan* const second = plan;
  {
    const Tf32Setting tf32(true);
    cuda_kernels::conv2d_forward(xb_d.data(), w.data(), nullptr, b, yb.data(), plan);
    CHECK(plan != second);  // the TF32 setting changed: another plan
  }

  // the remade plans compute the right thing: back to shape a in float, against the cpu
  cuda_kernels::conv2d_forward(xa_d.data(), w.data(), nullptr, a, ya.data(), plan);
  std::vector<float> y_c(static_cast<std::size_t>(a.n * a.ho() * a.wo() * a.cout));
  cpu_kernels::workspace cws;
  const auto w_h = on_host(w);
  cpu_kernels::conv2d_forward(xa.data(), w_h.data(), nullptr, a, y_c.data(), cws);
  check_close(on_host(ya), y_c, float_tol, "y after the plan was remade");
  cuda_kernels::destroy_conv_plan(plan);
  cuda_kernels::destroy_conv_plan(nullptr);  // as delete: a null plan is nothing to free
}

TEST_CASE("cuda conv2d names a shape it cannot run", "[cuda]") {
  cuda_kernels::ConvPlan* plan = nullptr;
  // 10 input channels in 4 groups
  const backend::ConvGeom bad{1, 8, 8, 10, 8, 3, 3, 1, 1, 1, 4};
  CHECK_THROWS_WITH(cuda_kernels::conv2d_forward(nullptr, nullptr, nullptr, bad, nullptr, plan),
                    Catch::Contains("not a valid convolution") && Catch::Contains("groups 4"));
  CHECK(plan == nullptr);
}
