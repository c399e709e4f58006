// Runs on a GPU machine only. The half and bfloat16 layer table of the GPU (mixed_layer_kernels<cuda, A>,
// backend/cuda/mixed_layer_kernels.hpp) against the cpu's via_float_layer_kernels<cpu, A> (each entry widened
// to float, the float kernel, rounded back) on the same A inputs: the casts (bit for bit), and every entry the
// GPU runs natively (convolution, linear, batch norm and its synchronised entries, pooling, ReLU, dropout,
// sums, products, fills, the NHWC <-> NCHW reorders), on fresh random inputs with the GPU's A outputs poisoned
// with NaN before each run; then a small network built for cuda<A> against the same network on cpu<A>,
// forward and backward.
//
// Tolerances (check_close: relative, with a floor of tol times the array's largest value), by dtype, where
// one rounding to A separates the devices' results (their float sums differ in order, so a value near a
// rounding boundary may round the other way: one unit in the last place, 2^-10 relative for half, 2^-7 for
// bfloat16): half 2e-3, bfloat16 1.6e-2. The GPU's convolution and linear layers also multiply by the weights
// rounded to A (the cpu's via_float by the float weights: a relative 2^-11 or 2^-8 per weight, averaging out
// over a sum) and round an output with a bias twice (after the product, after the bias), and conv2d's dw is
// rounded to A before the float accumulation: half 4e-3, bfloat16 3e-2 there and for batch norm's backward
// (its coefficients are sums over the batch). A wrong stride, a lost accumulation or a wrong dtype gives errors
// of order 1. Exact where both devices do the same float operations on the same A values (ReLU, dropout, the
// residual sum, products, fills, reorders, max pooling and its argmax, the casts).
// Float outputs (linear's dw, the bias gradients, dgamma, dbeta, running statistics, invstd): 1e-4 relative,
// float sums of the same A values or products in another order; conv2d's dw: the A tolerance above.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fastpp/backend/cpu/cast_kernels.hpp>
#include <fastpp/backend/cpu/layer_kernels.hpp>
#include <fastpp/backend/cuda.hpp>
#include <fastpp/backend/mixed_layer_kernels.hpp>
#include <fastpp/core.hpp>
#include <fastpp/models/state_dict.hpp>
#include <fastpp/nn.hpp>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../support/relative_error.hpp"
#include "compare.hpp"

using namespace fastpp;

namespace mixed_test {

using i64 = std::int64_t;
constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();
constexpr double float_tol = 1e-4;

template <class A>
struct tol;
template <>
struct tol<half> {
  static constexpr double one = 2e-3;  // one rounding apart
  static constexpr double two = 4e-3;  // two roundings, or sums over the batch before the rounding
  static constexpr const char* name = "half";
};
template <>
struct tol<bfloat16> {
  static constexpr double one = 1.6e-2;
  static constexpr double two = 3e-2;
  static constexpr const char* name = "bfloat16";
};

template <class A>
using CpuK = backend::via_float_layer_kernels<cpu, A>;
template <class A>
using GpuK = backend::mixed_layer_kernels<cuda, A>;

using gpu_compare::check_close;

// n normal values rounded to A.
template <class A>
std::vector<A> normal(i64 n, float mean, float sd, std::mt19937& gen) {
  std::normal_distribution<float> d(mean, sd);
  std::vector<A> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = A(d(gen));
  return v;
}
inline std::vector<float> normal_floats(i64 n, float mean, float sd, std::mt19937& gen) {
  std::normal_distribution<float> d(mean, sd);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = d(gen);
  return v;
}

template <class T>
Tensor<T, cuda> on_gpu(const std::vector<T>& v) {
  return gpu_compare::device(v);
}
// n elements of NaN in A on the device: an output the GPU must overwrite.
template <class A>
Tensor<A, cuda> poisoned(i64 n) {
  return gpu_compare::device(std::vector<A>(static_cast<std::size_t>(n), A(nan_f)));
}
template <class A>
std::vector<float> floats(const std::vector<A>& v) {
  std::vector<float> out(v.size());
  for (std::size_t k = 0; k < v.size(); ++k) out[k] = static_cast<float>(v[k]);
  return out;
}
template <class A>
std::vector<float> on_host(const Tensor<A, cuda>& t) {
  if constexpr (std::is_same_v<A, float>) {
    return gpu_compare::host(t);
  } else {
    return gpu_compare::host_floats(t);
  }
}

// The same values, NaN where the cpu has NaN.
inline void check_same(const std::vector<float>& gpu, const std::vector<float>& cpu_values, const char* what) {
  REQUIRE(gpu.size() == cpu_values.size());
  std::size_t bad = 0, first = 0;
  for (std::size_t k = 0; k < cpu_values.size(); ++k) {
    const bool ok = gpu[k] == cpu_values[k] || (std::isnan(gpu[k]) && std::isnan(cpu_values[k]));
    if (!ok) first = bad++ == 0 ? k : first;
  }
  INFO(what << ": " << bad << " of " << cpu_values.size() << " differ; first at " << first << ": gpu "
            << (bad ? gpu[first] : 0.0f) << ", cpu " << (bad ? cpu_values[first] : 0.0f));
  CHECK(bad == 0);
}

// ---- casts ----

// Values that exercise the rounding: ties (to even), subnormals of half, overflow to inf, NaN, signed zeros.
inline std::vector<float> cast_inputs(std::mt19937& gen) {
  std::vector<float> v = {0.0f, -0.0f, 1.0f, -1.0f, 65504.0f, 65520.0f, 1e6f, -1e6f, 6.1e-5f, 5.96e-8f, 2.9e-8f,
                          3.0e-8f, 1e-10f, std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(), nan_f, 1.0f + 1.0f / 2048.0f,
                          1.0f + 3.0f / 2048.0f, 1.0f + 1.0f / 256.0f, 1.0f + 3.0f / 256.0f, 3.4e38f};
  std::uniform_int_distribution<std::uint32_t> bits;
  for (int k = 0; k < 5000; ++k) {  // every exponent: random bit patterns
    float f;
    const std::uint32_t b = bits(gen);
    std::memcpy(&f, &b, sizeof f);
    v.push_back(f);
  }
  return v;
}

template <class A>
void cast_case(std::uint32_t seed) {
  INFO(tol<A>::name);
  std::mt19937 gen(seed);
  const auto x = cast_inputs(gen);
  const i64 n = static_cast<i64>(x.size());
  std::vector<A> narrow_c(x.size());
  backend::cast_kernels<cpu>::from_float(x.data(), n, narrow_c.data());
  std::vector<float> wide_c(x.size());
  backend::cast_kernels<cpu>::to_float(narrow_c.data(), n, wide_c.data());

  const auto x_d = on_gpu(x);
  auto narrow_d = poisoned<A>(n);
  backend::cast_kernels<cuda>::from_float(x_d.data(), n, narrow_d.data());
  auto wide_d = gpu_compare::poisoned(n);
  backend::cast_kernels<cuda>::to_float(narrow_d.data(), n, wide_d.data());
  const auto h = narrow_d.template to<cpu>();
  std::size_t bad = 0;
  // bit for bit, NaN aside: the GPU's conversion instruction gives its canonical NaN (core/half.hpp)
  for (std::size_t k = 0; k < x.size(); ++k)
    bad += h.data()[k].bits != narrow_c[k].bits && !(std::isnan(float(h.data()[k])) && std::isnan(x[k])) ? 1 : 0;
  INFO("from_float: " << bad << " of " << x.size() << " differ in their bits");
  CHECK(bad == 0);
  check_same(gpu_compare::host(wide_d), wide_c, "to_float");
}

// ---- convolution ----

// n, h, w, cin, cout, kh, kw, stride, pad, dil, groups
inline std::vector<backend::ConvGeom> conv_shapes() {
  return {
      {2, 37, 37, 3, 16, 7, 7, 2, 3, 1, 1},   // ResNet's stem (odd input)
      {2, 14, 14, 16, 32, 3, 3, 1, 1, 1, 1},  // 3x3, padding 1
      {3, 15, 15, 32, 64, 1, 1, 2, 0, 1, 1},  // 1x1 stride-2 downsample (odd input)
      {2, 9, 11, 16, 24, 3, 3, 1, 1, 1, 4},   // grouped
      {2, 10, 10, 8, 8, 3, 3, 2, 1, 1, 8},    // depthwise, stride 2
      {1, 5, 7, 5, 7, 3, 2, 2, 1, 1, 1},      // odd sizes, a 3x2 kernel
      {4, 28, 28, 64, 64, 3, 3, 1, 1, 1, 1},  // a ResNet block's size (larger sums)
  };
}

// Forward; the backward with (dx only), then (dw, dbias) and (all) into non-zero float dw and dbias, so each
// gets the gradient twice; dx poisoned before each call that writes it.
template <class A>
void conv_case(const backend::ConvGeom& g, bool with_bias, std::uint32_t seed) {
  INFO(tol<A>::name << ": n " << g.n << ", " << g.h << "x" << g.w << ", cin " << g.cin << ", cout " << g.cout
                    << ", kernel " << g.kh << "x" << g.kw << ", stride " << g.stride << ", pad " << g.pad
                    << ", groups " << g.groups << ", bias " << with_bias);
  std::mt19937 gen(seed);
  const i64 nx = g.n * g.h * g.w * g.cin, nw = g.cout * g.kh * g.kw * g.cg(), ny = g.n * g.ho() * g.wo() * g.cout;
  const auto x = normal<A>(nx, 0.0f, 1.0f, gen), dy = normal<A>(ny, 0.0f, 1.0f, gen);
  const auto w = normal_floats(nw, 0.0f, 0.2f, gen), b = normal_floats(g.cout, 0.0f, 1.0f, gen);
  const auto dw0 = normal_floats(nw, 0.0f, 1.0f, gen), db0 = normal_floats(g.cout, 0.0f, 1.0f, gen);
  const float* bias = with_bias ? b.data() : nullptr;

  typename CpuK<A>::workspace cws;
  std::vector<A> y_c(static_cast<std::size_t>(ny)), dx_c(static_cast<std::size_t>(nx));
  auto dw_c = dw0, db_c = db0;
  CpuK<A>::conv2d_forward(x.data(), w.data(), bias, g, y_c.data(), cws);
  for (int k = 0; k < 2; ++k)
    CpuK<A>::conv2d_backward(x.data(), w.data(), dy.data(), g, dw_c.data(), with_bias ? db_c.data() : nullptr,
                             k == 0 ? dx_c.data() : nullptr, cws);

  const auto x_d = on_gpu(x), dy_d = on_gpu(dy);
  const auto w_d = on_gpu(w), b_d = on_gpu(b);
  auto dw_d = on_gpu(dw0), db_d = on_gpu(db0);
  auto y_d = poisoned<A>(ny), dx_d = poisoned<A>(nx);
  const float* bias_d = with_bias ? b_d.data() : nullptr;
  typename GpuK<A>::workspace ws;
  GpuK<A>::conv2d_forward(x_d.data(), w_d.data(), bias_d, g, y_d.data(), ws);
  check_close(on_host(y_d), floats(y_c), with_bias ? tol<A>::two : tol<A>::one, "y");

  GpuK<A>::conv2d_backward(x_d.data(), w_d.data(), dy_d.data(), g, nullptr, nullptr, dx_d.data(), ws);
  check_close(on_host(dx_d), floats(dx_c), tol<A>::one, "dx (no dw, no dbias)");
  CHECK(on_host(dw_d) == dw0);  // null dw and dbias: the gradients so far untouched
  CHECK(on_host(db_d) == db0);

  GpuK<A>::conv2d_backward(x_d.data(), w_d.data(), dy_d.data(), g, dw_d.data(), with_bias ? db_d.data() : nullptr,
                           nullptr, ws);
  dx_d = poisoned<A>(nx);
  GpuK<A>::conv2d_backward(x_d.data(), w_d.data(), dy_d.data(), g, dw_d.data(), with_bias ? db_d.data() : nullptr,
                           dx_d.data(), ws);
  check_close(on_host(dw_d), dw_c, tol<A>::two, "dw (dw0 + 2 gradients, each rounded to A)");
  check_close(on_host(db_d), db_c, float_tol, with_bias ? "dbias (db0 + 2 gradients)" : "dbias (untouched)");
  check_close(on_host(dx_d), floats(dx_c), tol<A>::one, "dx (with dw and dbias)");
  cuda_runtime::synchronize_current_stream();
}

// A float plan and an A plan in turn on one workspace: each call remakes the plan for its dtype, and the float
// convolution is the float table's (compared with the cpu's float kernel).
template <class A>
void conv_dtype_switch_case(std::uint32_t seed) {
  INFO(tol<A>::name);
  const backend::ConvGeom g{2, 9, 9, 8, 16, 3, 3, 1, 1, 1, 1};
  std::mt19937 gen(seed);
  const i64 nx = g.n * g.h * g.w * g.cin, nw = g.cout * g.kh * g.kw * g.cg(), ny = g.n * g.ho() * g.wo() * g.cout;
  const auto xa = normal<A>(nx, 0.0f, 1.0f, gen);
  const auto xf = floats(xa), w = normal_floats(nw, 0.0f, 0.2f, gen);
  typename CpuK<A>::workspace cws;
  std::vector<A> ya_c(static_cast<std::size_t>(ny));
  std::vector<float> yf_c(static_cast<std::size_t>(ny));
  CpuK<A>::conv2d_forward(xa.data(), w.data(), nullptr, g, ya_c.data(), cws);
  backend::layer_kernels<cpu>::conv2d_forward(xf.data(), w.data(), nullptr, g, yf_c.data(), cws);

  const auto xa_d = on_gpu(xa), xf_d = on_gpu(xf), w_d = on_gpu(w);
  backend::layer_kernels<cuda>::workspace ws;
  static_assert(std::is_same_v<typename GpuK<A>::workspace, backend::layer_kernels<cuda>::workspace>);
  for (int round = 0; round < 2; ++round) {
    auto ya_d = poisoned<A>(ny);
    auto yf_d = gpu_compare::poisoned(ny);
    GpuK<A>::conv2d_forward(xa_d.data(), w_d.data(), nullptr, g, ya_d.data(), ws);
    backend::layer_kernels<cuda>::conv2d_forward(xf_d.data(), w_d.data(), nullptr, g, yf_d.data(), ws);
    check_close(on_host(ya_d), floats(ya_c), tol<A>::one, "A y");
    check_close(gpu_compare::host(yf_d), yf_c, 1e-2, "float y (TF32 allowed by default)");
  }
  cuda_runtime::synchronize_current_stream();
}

// ---- linear ----

struct LinearShape {
  i64 n, in, out;
};

template <class A>
void linear_case(const LinearShape& s, bool with_bias, std::uint32_t seed) {
  INFO(tol<A>::name << ": n " << s.n << ", in " << s.in << ", out " << s.out << ", bias " << with_bias);
  std::mt19937 gen(seed);
  const i64 nx = s.n * s.in, nw = s.out * s.in, ny = s.n * s.out;
  const auto x = normal<A>(nx, 0.0f, 1.0f, gen), dy = normal<A>(ny, 0.0f, 1.0f, gen);
  const auto w = normal_floats(nw, 0.0f, 0.2f, gen), b = normal_floats(s.out, 0.0f, 1.0f, gen);
  const auto dw0 = normal_floats(nw, 0.0f, 1.0f, gen), db0 = normal_floats(s.out, 0.0f, 1.0f, gen);
  const float* bias = with_bias ? b.data() : nullptr;

  std::vector<A> y_c(static_cast<std::size_t>(ny)), dx_c(static_cast<std::size_t>(nx));
  auto dw_c = dw0, db_c = db0;
  CpuK<A>::linear_forward(x.data(), w.data(), bias, s.n, s.in, s.out, y_c.data());
  for (int k = 0; k < 2; ++k)
    CpuK<A>::linear_backward(x.data(), w.data(), dy.data(), s.n, s.in, s.out, dw_c.data(),
                             with_bias ? db_c.data() : nullptr, k == 0 ? dx_c.data() : nullptr);

  const auto x_d = on_gpu(x), dy_d = on_gpu(dy);
  const auto w_d = on_gpu(w), b_d = on_gpu(b);
  auto dw_d = on_gpu(dw0), db_d = on_gpu(db0);
  auto y_d = poisoned<A>(ny), dx_d = poisoned<A>(nx);
  GpuK<A>::linear_forward(x_d.data(), w_d.data(), with_bias ? b_d.data() : nullptr, s.n, s.in, s.out, y_d.data());
  check_close(on_host(y_d), floats(y_c), with_bias ? tol<A>::two : tol<A>::one, "y");

  GpuK<A>::linear_backward(x_d.data(), w_d.data(), dy_d.data(), s.n, s.in, s.out, nullptr, nullptr, dx_d.data());
  check_close(on_host(dx_d), floats(dx_c), tol<A>::one, "dx (no dw, no db)");
  CHECK(on_host(dw_d) == dw0);
  CHECK(on_host(db_d) == db0);

  GpuK<A>::linear_backward(x_d.data(), w_d.data(), dy_d.data(), s.n, s.in, s.out, dw_d.data(),
                           with_bias ? db_d.data() : nullptr, nullptr);
  dx_d = poisoned<A>(nx);
  GpuK<A>::linear_backward(x_d.data(), w_d.data(), dy_d.data(), s.n, s.in, s.out, dw_d.data(),
                           with_bias ? db_d.data() : nullptr, dx_d.data());
  check_close(on_host(dw_d), dw_c, float_tol, "dw (dw0 + 2 gradients, float)");
  check_close(on_host(db_d), db_c, float_tol, with_bias ? "db (db0 + 2 gradients)" : "db (untouched)");
  check_close(on_host(dx_d), floats(dx_c), tol<A>::one, "dx (with dw and db)");
  cuda_runtime::synchronize_current_stream();
}

// ---- batch norm ----

// Forward over [rows, c] (channels with means far from zero and different spreads), training or not, with and
// without xhat; then the backward from that xhat (batch or frozen statistics), dgamma and dbeta added to, dx
// written over dy.
template <class A>
void batchnorm_case(i64 rows, i64 c, bool training, bool with_xhat, bool frozen, std::uint32_t seed) {
  INFO(tol<A>::name << ": batchnorm rows " << rows << ", c " << c << ", training " << training << ", xhat "
                    << with_xhat << ", frozen " << frozen);
  std::mt19937 gen(seed);
  const i64 n = rows * c;
  const auto mu = normal_floats(c, 3.0f, 5.0f, gen);
  std::uniform_real_distribution<float> spread(0.1f, 4.0f);
  std::normal_distribution<float> z(0.0f, 1.0f);
  std::vector<float> sd(static_cast<std::size_t>(c));
  for (auto& v : sd) v = spread(gen);
  std::vector<A> x(static_cast<std::size_t>(n));
  for (i64 k = 0; k < n; ++k) x[static_cast<std::size_t>(k)] = A(mu[k % c] + sd[k % c] * z(gen));
  const auto gamma = normal_floats(c, 1.0f, 0.3f, gen), beta = normal_floats(c, 0.0f, 0.5f, gen);
  const auto rmean0 = normal_floats(c, 0.0f, 1.0f, gen);
  std::vector<float> rvar0(static_cast<std::size_t>(c));
  for (auto& v : rvar0) v = spread(gen);
  const auto dy = normal<A>(n, 0.0f, 1.0f, gen);
  const auto dg0 = normal_floats(c, 0.0f, 1.0f, gen), db0 = normal_floats(c, 0.0f, 1.0f, gen);

  auto rmean_c = rmean0, rvar_c = rvar0;
  std::vector<A> y_c(static_cast<std::size_t>(n)), xhat_c(static_cast<std::size_t>(n));
  std::vector<float> invstd_c(static_cast<std::size_t>(c));
  CpuK<A>::batchnorm_forward(x.data(), rows, c, training, 0.1f, 1e-5f, gamma.data(), beta.data(), rmean_c.data(),
                             rvar_c.data(), y_c.data(), with_xhat ? xhat_c.data() : nullptr, invstd_c.data());

  const auto x_d = on_gpu(x), gamma_d = on_gpu(gamma), beta_d = on_gpu(beta);
  auto rmean_d = on_gpu(rmean0), rvar_d = on_gpu(rvar0), invstd_d = gpu_compare::poisoned(c);
  auto y_d = poisoned<A>(n), xhat_d = poisoned<A>(n);
  GpuK<A>::batchnorm_forward(x_d.data(), rows, c, training, 0.1f, 1e-5f, gamma_d.data(), beta_d.data(),
                             rmean_d.data(), rvar_d.data(), y_d.data(), with_xhat ? xhat_d.data() : nullptr,
                             invstd_d.data());
  check_close(on_host(y_d), floats(y_c), tol<A>::one, "y");
  if (with_xhat) check_close(on_host(xhat_d), floats(xhat_c), tol<A>::one, "xhat");
  check_close(on_host(invstd_d), invstd_c, float_tol, "invstd");
  check_close(on_host(rmean_d), rmean_c, float_tol, "running mean");
  check_close(on_host(rvar_d), rvar_c, float_tol, "running var");
  if (!with_xhat) return;

  // the backward from the cpu's xhat, so it is checked on its own; dx written over (a copy of) dy
  auto dg_c = dg0, db_c = db0;
  auto dx_c = dy;
  CpuK<A>::batchnorm_backward(xhat_c.data(), dx_c.data(), rows, c, gamma.data(), invstd_c.data(), frozen,
                              dg_c.data(), db_c.data(), dx_c.data());
  const auto xhatc_d = on_gpu(xhat_c), invstdc_d = on_gpu(invstd_c);
  auto dg_d = on_gpu(dg0), db_d = on_gpu(db0);
  auto dx_d = on_gpu(dy);
  GpuK<A>::batchnorm_backward(xhatc_d.data(), dx_d.data(), rows, c, gamma_d.data(), invstdc_d.data(), frozen,
                              dg_d.data(), db_d.data(), dx_d.data());
  check_close(on_host(dx_d), floats(dx_c), tol<A>::two, "dx (in place over dy)");
  check_close(on_host(dg_d), dg_c, float_tol, "dgamma (added to)");
  check_close(on_host(db_d), db_c, float_tol, "dbeta (added to)");
  cuda_runtime::synchronize_current_stream();
}

// Synchronised batch norm on one process (the sums are this batch's): each step from the cpu's inputs, so
// each is checked on its own. The sums are doubles of the same A values (1e-4 relative, float_tol).
template <class A>
void batchnorm_sync_case(i64 rows, i64 c, std::uint32_t seed) {
  INFO(tol<A>::name << ": sync batchnorm rows " << rows << ", c " << c);
  std::mt19937 gen(seed);
  const i64 n = rows * c;
  const auto mu = normal_floats(c, 3.0f, 5.0f, gen);
  std::normal_distribution<float> z(0.0f, 2.0f);
  std::vector<A> x(static_cast<std::size_t>(n));
  for (i64 k = 0; k < n; ++k) x[static_cast<std::size_t>(k)] = A(mu[k % c] + z(gen));
  const auto gamma = normal_floats(c, 1.0f, 0.3f, gen), beta = normal_floats(c, 0.0f, 0.5f, gen);
  const auto rmean0 = normal_floats(c, 0.0f, 1.0f, gen), rvar0 = normal_floats(c, 2.0f, 0.1f, gen);
  const auto dy = normal<A>(n, 0.0f, 1.0f, gen);
  const auto dg0 = normal_floats(c, 0.0f, 1.0f, gen), db0 = normal_floats(c, 0.0f, 1.0f, gen);
  const auto cs = static_cast<std::size_t>(c);

  // the cpu: sums, forward, grad sums, dx
  std::vector<double> sums_c(2 * cs + 1), gsums_c(2 * cs);
  CpuK<A>::batchnorm_sync_sums(x.data(), rows, c, sums_c.data());
  auto rmean_c = rmean0, rvar_c = rvar0;
  std::vector<A> y_c(static_cast<std::size_t>(n)), xhat_c(static_cast<std::size_t>(n));
  std::vector<float> invstd_c(cs);
  CpuK<A>::batchnorm_sync_forward(x.data(), rows, c, sums_c.data(), 0.1f, 1e-5f, gamma.data(), beta.data(),
                                  rmean_c.data(), rvar_c.data(), y_c.data(), xhat_c.data(), invstd_c.data());
  auto dg_c = dg0, db_c = db0;
  CpuK<A>::batchnorm_sync_grad_sums(xhat_c.data(), dy.data(), rows, c, gsums_c.data(), dg_c.data(), db_c.data());
  std::vector<A> dx_c(static_cast<std::size_t>(n));
  CpuK<A>::batchnorm_sync_backward_dx(xhat_c.data(), dy.data(), rows, c, gamma.data(), invstd_c.data(),
                                      gsums_c.data(), static_cast<double>(rows), dx_c.data());

  const auto to_floats = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
  const auto x_d = on_gpu(x), dy_d = on_gpu(dy), gamma_d = on_gpu(gamma), beta_d = on_gpu(beta);
  auto sums_d = on_gpu(std::vector<double>(2 * cs + 1, nan_f));
  GpuK<A>::batchnorm_sync_sums(x_d.data(), rows, c, sums_d.data());
  check_close(to_floats(gpu_compare::host(sums_d)), to_floats(sums_c), float_tol, "sums of x, x^2, rows");

  const auto sumsc_d = on_gpu(sums_c);
  auto rmean_d = on_gpu(rmean0), rvar_d = on_gpu(rvar0), invstd_d = gpu_compare::poisoned(c);
  auto y_d = poisoned<A>(n), xhat_d = poisoned<A>(n);
  GpuK<A>::batchnorm_sync_forward(x_d.data(), rows, c, sumsc_d.data(), 0.1f, 1e-5f, gamma_d.data(), beta_d.data(),
                                  rmean_d.data(), rvar_d.data(), y_d.data(), xhat_d.data(), invstd_d.data());
  check_close(on_host(y_d), floats(y_c), tol<A>::one, "y");
  check_close(on_host(xhat_d), floats(xhat_c), tol<A>::one, "xhat");
  check_close(on_host(invstd_d), invstd_c, float_tol, "invstd");
  check_close(on_host(rmean_d), rmean_c, float_tol, "running mean");
  check_close(on_host(rvar_d), rvar_c, float_tol, "running var");

  const auto xhatc_d = on_gpu(xhat_c), invstdc_d = on_gpu(invstd_c);
  auto gsums_d = on_gpu(std::vector<double>(2 * cs, nan_f));
  auto dg_d = on_gpu(dg0), db_d = on_gpu(db0);
  GpuK<A>::batchnorm_sync_grad_sums(xhatc_d.data(), dy_d.data(), rows, c, gsums_d.data(), dg_d.data(), db_d.data());
  check_close(to_floats(gpu_compare::host(gsums_d)), to_floats(gsums_c), float_tol, "sums of dy, dy * xhat");
  check_close(on_host(dg_d), dg_c, float_tol, "dgamma (added to)");
  check_close(on_host(db_d), db_c, float_tol, "dbeta (added to)");

  const auto gsumsc_d = on_gpu(gsums_c);
  auto dx_d = on_gpu(dy);  // dx over dy
  GpuK<A>::batchnorm_sync_backward_dx(xhatc_d.data(), dx_d.data(), rows, c, gamma_d.data(), invstdc_d.data(),
                                      gsumsc_d.data(), static_cast<double>(rows), dx_d.data());
  check_close(on_host(dx_d), floats(dx_c), tol<A>::two, "dx (in place over dy)");
  cuda_runtime::synchronize_current_stream();
}

// ---- pooling, ReLU, the residual sum ----

template <class A>
void maxpool_case(const backend::PoolGeom& g, std::uint32_t seed) {
  INFO(tol<A>::name << ": maxpool n " << g.n << ", " << g.h << "x" << g.w << ", c " << g.c << ", kernel " << g.kh
                    << "x" << g.kw << ", stride " << g.stride << ", pad " << g.pad);
  std::mt19937 gen(seed);
  const i64 in_n = g.n * g.h * g.w * g.c, out_n = g.n * g.ho() * g.wo() * g.c;
  auto x = normal<A>(in_n, 0.0f, 1.0f, gen);
  for (i64 k = 0; k < in_n; k += 7) x[static_cast<std::size_t>(k)] = A(0.5f);  // ties in some windows
  const auto dy = normal<A>(out_n, 0.0f, 1.0f, gen);
  std::vector<A> y_c(static_cast<std::size_t>(out_n)), dx_c(static_cast<std::size_t>(in_n));
  std::vector<std::int32_t> arg_c(static_cast<std::size_t>(out_n));
  CpuK<A>::maxpool2d_forward(x.data(), g, y_c.data(), arg_c.data());
  CpuK<A>::maxpool2d_backward(dy.data(), arg_c.data(), g, dx_c.data());

  const auto x_d = on_gpu(x), dy_d = on_gpu(dy);
  auto y_d = poisoned<A>(out_n), dx_d = poisoned<A>(in_n);
  auto arg_d = on_gpu(std::vector<std::int32_t>(static_cast<std::size_t>(out_n), -7));
  GpuK<A>::maxpool2d_forward(x_d.data(), g, y_d.data(), arg_d.data());
  check_same(on_host(y_d), floats(y_c), "maxpool y");
  CHECK(gpu_compare::host(arg_d) == arg_c);
  const auto argc_d = on_gpu(arg_c);  // the backward from the cpu's argmax, checked on its own
  GpuK<A>::maxpool2d_backward(dy_d.data(), argc_d.data(), g, dx_d.data());
  check_close(on_host(dx_d), floats(dx_c), tol<A>::one, "maxpool dx");
}

// A concat pool: average into channels [0, c), max into [c, 2c) of y[n, oh, ow, 2c]; both adjoints added into
// a dx that starts at random values.
template <class A>
void adaptive_case(i64 n, i64 h, i64 w, i64 c, i64 oh, i64 ow, std::uint32_t seed) {
  INFO(tol<A>::name << ": adaptive pool n " << n << ", " << h << "x" << w << " -> " << oh << "x" << ow << ", c "
                    << c);
  std::mt19937 gen(seed);
  const i64 in_n = n * h * w * c, out_n = n * oh * ow * c;
  const auto x = normal<A>(in_n, 0.5f, 1.0f, gen), dy = normal<A>(2 * out_n, 0.0f, 1.0f, gen);
  const auto dx0 = normal<A>(in_n, 0.0f, 1.0f, gen);
  std::vector<A> y_c(static_cast<std::size_t>(2 * out_n), A(nan_f));
  auto dx_c = dx0;
  std::vector<std::int32_t> arg_c(static_cast<std::size_t>(out_n));
  CpuK<A>::adaptive_pool_forward(x.data(), n, h, w, c, oh, ow, false, y_c.data(), 2 * c, 0, nullptr);
  CpuK<A>::adaptive_pool_forward(x.data(), n, h, w, c, oh, ow, true, y_c.data(), 2 * c, c, arg_c.data());
  CpuK<A>::adaptive_pool_backward(dy.data(), n, h, w, c, oh, ow, false, 2 * c, 0, nullptr, dx_c.data());
  CpuK<A>::adaptive_pool_backward(dy.data(), n, h, w, c, oh, ow, true, 2 * c, c, arg_c.data(), dx_c.data());

  const auto x_d = on_gpu(x), dy_d = on_gpu(dy);
  auto y_d = poisoned<A>(2 * out_n);
  auto arg_d = on_gpu(std::vector<std::int32_t>(static_cast<std::size_t>(out_n), -7));
  GpuK<A>::adaptive_pool_forward(x_d.data(), n, h, w, c, oh, ow, false, y_d.data(), 2 * c, 0, nullptr);
  GpuK<A>::adaptive_pool_forward(x_d.data(), n, h, w, c, oh, ow, true, y_d.data(), 2 * c, c, arg_d.data());
  check_close(on_host(y_d), floats(y_c), tol<A>::one, "adaptive y (both halves)");
  CHECK(gpu_compare::host(arg_d) == arg_c);
  auto dx_d = on_gpu(dx0);
  const auto argc_d = on_gpu(arg_c);
  GpuK<A>::adaptive_pool_backward(dy_d.data(), n, h, w, c, oh, ow, false, 2 * c, 0, nullptr, dx_d.data());
  GpuK<A>::adaptive_pool_backward(dy_d.data(), n, h, w, c, oh, ow, true, 2 * c, c, argc_d.data(), dx_d.data());
  check_close(on_host(dx_d), floats(dx_c), tol<A>::two, "adaptive dx (dx0 + both adjoints)");
}

template <class A>
void elementwise_case(i64 n, std::uint32_t seed) {
  INFO(tol<A>::name << ": n " << n);
  std::mt19937 gen(seed);
  auto x = normal<A>(n, 0.0f, 1.0f, gen);
  if (n > 3) x[3] = A(nan_f);  // ReLU of NaN is 0, as on the cpu
  const auto dy = normal<A>(n, 0.0f, 1.0f, gen), b = normal<A>(n, 0.0f, 3.0f, gen);
  std::vector<A> y_c(static_cast<std::size_t>(n)), dx_c(static_cast<std::size_t>(n));
  CpuK<A>::relu_forward(x.data(), n, y_c.data());
  CpuK<A>::relu_backward(y_c.data(), dy.data(), n, dx_c.data());
  auto sum_c = x;
  CpuK<A>::add_inplace(sum_c.data(), b.data(), n);

  const auto x_d = on_gpu(x), dy_d = on_gpu(dy), b_d = on_gpu(b), yc_d = on_gpu(y_c);
  auto y_d = poisoned<A>(n), dx_d = poisoned<A>(n);
  GpuK<A>::relu_forward(x_d.data(), n, y_d.data());
  check_same(on_host(y_d), floats(y_c), "relu y");
  GpuK<A>::relu_backward(yc_d.data(), dy_d.data(), n, dx_d.data());
  check_same(on_host(dx_d), floats(dx_c), "relu dx");
  auto dyi_d = on_gpu(dy);  // dx over dy
  GpuK<A>::relu_backward(yc_d.data(), dyi_d.data(), n, dyi_d.data());
  check_same(on_host(dyi_d), floats(dx_c), "relu dx in place");
  auto sum_d = on_gpu(x);
  GpuK<A>::add_inplace(sum_d.data(), b_d.data(), n);
  check_same(on_host(sum_d), floats(sum_c), "add_inplace");
}

// Average pooling and its adjoint (padded, overlapping windows): float sums of the same A values, rounded once.
template <class A>
void avgpool_case(const backend::PoolGeom& g, std::uint32_t seed) {
  INFO(tol<A>::name << ": avgpool n " << g.n << ", " << g.h << "x" << g.w << ", c " << g.c << ", kernel " << g.kh
                    << "x" << g.kw << ", stride " << g.stride << ", pad " << g.pad);
  std::mt19937 gen(seed);
  const i64 in_n = g.n * g.h * g.w * g.c, out_n = g.n * g.ho() * g.wo() * g.c;
  const auto x = normal<A>(in_n, 0.5f, 1.0f, gen), dy = normal<A>(out_n, 0.0f, 1.0f, gen);
  std::vector<A> y_c(static_cast<std::size_t>(out_n)), dx_c(static_cast<std::size_t>(in_n));
  CpuK<A>::avgpool2d(x.data(), g, false, y_c.data());
  CpuK<A>::avgpool2d(dy.data(), g, true, dx_c.data());
  const auto x_d = on_gpu(x), dy_d = on_gpu(dy);
  auto y_d = poisoned<A>(out_n), dx_d = poisoned<A>(in_n);
  GpuK<A>::avgpool2d(x_d.data(), g, false, y_d.data());
  GpuK<A>::avgpool2d(dy_d.data(), g, true, dx_d.data());
  check_close(on_host(y_d), floats(y_c), tol<A>::one, "avgpool y");
  check_close(on_host(dx_d), floats(dx_c), tol<A>::one, "avgpool dx");
}

// Dropout from a few stream positions (the cpu's random numbers), products, fills and the NHWC <-> NCHW
// reorders: the same float operations on the same A values, so the same A results.
template <class A>
void more_elementwise_case(i64 n, std::uint32_t seed) {
  INFO(tol<A>::name << ": n " << n);
  std::mt19937 gen(seed);
  const auto x = normal<A>(n, 0.0f, 1.0f, gen), b = normal<A>(n, 0.0f, 1.0f, gen);
  for (int drawn : {0, 1, 3})
    for (float p : {0.1f, 0.5f}) {
      INFO("dropout: drawn " << drawn << ", p " << p);
      Rng rng = Rng(2024, 11).fork(static_cast<std::uint64_t>(n));
      for (int k = 0; k < drawn; ++k) (void)rng.next_u32();
      std::vector<A> y_c(static_cast<std::size_t>(n)), mask_c(static_cast<std::size_t>(n));
      CpuK<A>::dropout_forward(x.data(), n, p, rng, y_c.data(), mask_c.data());
      const auto x_d = on_gpu(x);
      auto y_d = poisoned<A>(n), mask_d = poisoned<A>(n);
      GpuK<A>::dropout_forward(x_d.data(), n, p, rng, y_d.data(), mask_d.data());
      check_same(on_host(mask_d), floats(mask_c), "dropout mask");
      check_same(on_host(y_d), floats(y_c), "dropout y");
    }
  std::vector<A> prod_c(static_cast<std::size_t>(n)), fill_c(static_cast<std::size_t>(n));
  CpuK<A>::multiply(x.data(), b.data(), n, prod_c.data());
  CpuK<A>::fill(fill_c.data(), n, 0.1f);  // not a half or bfloat16 number: rounded
  const auto x_d = on_gpu(x), b_d = on_gpu(b);
  auto prod_d = poisoned<A>(n), fill_d = poisoned<A>(n);
  GpuK<A>::multiply(x_d.data(), b_d.data(), n, prod_d.data());
  GpuK<A>::fill(fill_d.data(), n, 0.1f);
  check_same(on_host(prod_d), floats(prod_c), "a * b");
  check_same(on_host(fill_d), floats(fill_c), "fill");
}

template <class A>
void reorder_case(i64 n, i64 h, i64 w, i64 c, std::uint32_t seed) {
  INFO(tol<A>::name << ": reorder n " << n << ", h " << h << ", w " << w << ", c " << c);
  std::mt19937 gen(seed);
  const i64 count = n * h * w * c;
  const auto x = normal<A>(count, 0.0f, 1.0f, gen);
  std::vector<A> nchw_c(static_cast<std::size_t>(count)), nhwc_c(static_cast<std::size_t>(count));
  CpuK<A>::nhwc_to_nchw(x.data(), n, h, w, c, nchw_c.data());
  CpuK<A>::nchw_to_nhwc(x.data(), n, h, w, c, nhwc_c.data());
  const auto x_d = on_gpu(x);
  auto nchw_d = poisoned<A>(count), nhwc_d = poisoned<A>(count);
  GpuK<A>::nhwc_to_nchw(x_d.data(), n, h, w, c, nchw_d.data());
  GpuK<A>::nchw_to_nhwc(x_d.data(), n, h, w, c, nhwc_d.data());
  check_same(on_host(nchw_d), floats(nchw_c), "nhwc_to_nchw");
  check_same(on_host(nhwc_d), floats(nhwc_c), "nchw_to_nhwc");
}

template <class A>
void all_entries() {
  std::uint32_t seed = 1;
  cast_case<A>(seed++);
  for (const auto& g : conv_shapes())
    for (bool with_bias : {true, false}) conv_case<A>(g, with_bias, seed++);
  conv_dtype_switch_case<A>(seed++);
  // one element; odd sizes; a classifier head; more than 4096 rows (db summed in chunks with atomicAdd)
  for (const LinearShape& s : {LinearShape{1, 1, 1}, LinearShape{7, 13, 5}, LinearShape{64, 512, 37},
                               LinearShape{5000, 33, 70}})
    for (bool with_bias : {true, false}) linear_case<A>(s, with_bias, seed++);
  // BatchNorm2d's rows (c >= 32, c small and odd) and BatchNorm1d's (few rows)
  const std::vector<std::pair<i64, i64>> norm_shapes = {{2 * 14 * 14, 64}, {3 * 9 * 7, 5}, {16, 40}};
  for (const auto& [rows, c] : norm_shapes) {
    batchnorm_case<A>(rows, c, true, true, false, seed++);
    batchnorm_case<A>(rows, c, true, false, false, seed++);
    batchnorm_case<A>(rows, c, false, true, true, seed++);
    batchnorm_sync_case<A>(rows, c, seed++);
  }
  // n, h, w, c, kh, kw, stride, pad: ResNet's stem pool (padded, overlapping), 2x2, odd
  const std::vector<backend::PoolGeom> pools = {
      {2, 15, 15, 8, 3, 3, 2, 1}, {3, 8, 8, 5, 2, 2, 2, 0}, {1, 7, 9, 3, 3, 2, 1, 0}};
  for (const auto& g : pools) {
    maxpool_case<A>(g, seed++);
    avgpool_case<A>(g, seed++);
  }
  adaptive_case<A>(2, 7, 7, 16, 1, 1, seed++);  // the head's concat pool
  adaptive_case<A>(3, 9, 5, 3, 4, 3, seed++);   // overlapping windows
  elementwise_case<A>(1, seed++);
  elementwise_case<A>(10007, seed++);
  more_elementwise_case<A>(1, seed++);
  more_elementwise_case<A>(100001, seed++);
  reorder_case<A>(2, 7, 9, 5, seed++);
  reorder_case<A>(3, 33, 31, 65, seed++);
  reorder_case<A>(2, 1, 1, 2048, seed++);  // a head's Flatten
}

// ---- a small network: cuda<A> against cpu<A> ----

using Net = nn::Sequential<nn::Conv2d<3, 16, nn::ConvOpts{.kernel = 3, .stride = 1, .padding = 1, .bias = false}>,
                           nn::BatchNorm2d<16>, nn::ReLU, nn::MaxPool2d<nn::PoolOpts{.kernel = 2, .stride = 2}>,
                           nn::Conv2d<16, 8, nn::ConvOpts{.kernel = 3, .padding = 1}>, nn::ReLU,
                           nn::AdaptiveConcatPool2d<1>, nn::Flatten, nn::BatchNorm1d<16>, nn::Linear<16, 5>>;

template <class A>
void network_case(double forward_tol, double grad_tol) {
  INFO(tol<A>::name);
  nn::on_device_t<Net, cpu, A> c(nn::Build{Rng(3), 5});
  nn::on_device_t<Net, cuda, A> g(nn::Build{Rng(99), 5});
  models::load_state_dict(g, models::state_dict(c));  // the same weights and statistics

  Rng rng(7);
  auto x = Tensor<float>::empty({4, 12, 12, 3});
  for (auto& v : x) v = rng.normal();
  auto dy = Tensor<float>::empty({4, 5});
  for (auto& v : dy) v = rng.normal();
  const auto xa = x.cast<A>(), dya = dy.cast<A>();

  auto cc = nn::Ctx::train(11), gc = nn::Ctx::train(11);
  const auto yc = c.forward(cc, xa);
  const auto yg = g.forward(gc, xa.template to<cuda>());
  REQUIRE(yg.shape() == yc.shape());
  INFO("forward: scaled error " << test::relative_l2_error(yc, yg));
  CHECK(test::relative_l2_error(yc, yg) <= forward_tol);

  const auto dxc = c.backward(cc, dya);
  const auto dxg = g.backward(gc, dya.template to<cuda>());
  INFO("input gradient: scaled error " << test::relative_l2_error(dxc, dxg));
  CHECK(test::relative_l2_error(dxc, dxg) <= grad_tol);
  const auto pc = test::gradients_of(c), pg = test::gradients_of(g);
  REQUIRE(pc.size() == pg.size());
  for (std::size_t i = 0; i < pc.size(); ++i) {
    INFO("parameter " << i << ": scaled error " << test::relative_l2_error(pc[i], pg[i]));
    CHECK(test::relative_l2_error(pc[i], pg[i]) <= grad_tol);
  }
  // the running statistics: float buffers moved by the batch's statistics, which differ as the activations do
  const auto sc = models::state_dict(c), sg = models::state_dict(g);
  for (const auto& [name, t] : sc.tensors) {
    if (name.find("running_") == std::string::npos) continue;
    INFO(name);
    CHECK(test::relative_l2_error(t.to_float(), sg.tensors.at(name).to_float()) <= forward_tol);
  }
  cuda_runtime::synchronize_current_stream();
}

}  // namespace mixed_test

TEST_CASE("cuda half layer kernels match the cpu's via-float kernels", "[cuda][fp16]") {
  mixed_test::all_entries<half>();
}

TEST_CASE("cuda bfloat16 layer kernels match the cpu's via-float kernels", "[cuda][fp16]") {
  mixed_test::all_entries<bfloat16>();
}

// Both devices round every activation to A; they differ by the GPU's weights rounded to A in the convolutions
// and linear layers, by the order of float sums (a rounding flip here and there) and by the max-pool ties those
// flips break the other way. The bounds are those tests/fp16/test_half_layers.cpp measured between a float and
// an A network on the cpu (forward 2.1e-3 half, 1.8e-2 bfloat16; gradients up to 1.1e-2 half, 0.2 bfloat16
// below the max pool), which bound the smaller differences between two A networks; a wrong stride, dtype or
// lost accumulation gives errors of order 1.
TEST_CASE("a half network on the GPU matches the same network on the cpu in half", "[cuda][fp16]") {
  mixed_test::network_case<half>(1e-2, 3e-2);
}

TEST_CASE("a bfloat16 network on the GPU matches the same network on the cpu in bfloat16", "[cuda][fp16]") {
  mixed_test::network_case<bfloat16>(5e-2, 0.35);
}
