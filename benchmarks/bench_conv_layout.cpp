// Which activation layout suits fastpp's convolution path (im2col + one BLAS GEMM)?
// Times a convolution's forward, input-gradient and weight-gradient passes in NCHW and NHWC on ResNet-34
// layer shapes. Both layouts use the same im2col/col2im-plus-GEMM method with Eigen over OpenBLAS:
//   NCHW: per image, Y[Cout, HW] = W[Cout, K] * col[K, HW]            (N GEMMs, col K-major)
//   NHWC: for the batch, Y[N*HW, Cout] = col[N*HW, K] * W^T[K, Cout]  (one GEMM; 1x1 stride-1 needs no im2col)
// The result decided the layout recorded in docs/ARCHITECTURE.md.
#include "bench_main.hpp"

#include <fastpp/backend/cpu/eigen.hpp>
#include <fastpp/core/tensor.hpp>

namespace {
using fastpp::Tensor;
using Mat = fastpp::RowMajorMatrix<float>;
using Map = Eigen::Map<Mat>;

struct ConvShape {
  int n, cin, cout, h, k, stride;
  int pad() const { return k / 2; }
  int ho() const { return (h + 2 * pad() - k) / stride + 1; }
  int kdim() const { return cin * k * k; }
};

const ConvShape shapes[] = {
    {16, 64, 64, 56, 3, 1},  {16, 64, 128, 56, 3, 2},  {16, 128, 128, 28, 3, 1},
    {16, 256, 256, 14, 3, 1}, {16, 512, 512, 7, 3, 1},  {16, 256, 512, 14, 1, 2},
};

// NCHW im2col of one image: col[(c*k + i)*k + j, oy*wo + ox].
void im2col_nchw(const float* x, const ConvShape& s, float* col) {
  const int ho = s.ho(), p = s.pad();
  for (int c = 0; c < s.cin; ++c)
    for (int i = 0; i < s.k; ++i)
      for (int j = 0; j < s.k; ++j) {
        float* row = col + (static_cast<std::ptrdiff_t>((c * s.k + i) * s.k + j)) * ho * ho;
        for (int oy = 0; oy < ho; ++oy) {
          const int y = oy * s.stride + i - p;
          for (int ox = 0; ox < ho; ++ox) {
            const int xx = ox * s.stride + j - p;
            row[oy * ho + ox] = (y >= 0 && y < s.h && xx >= 0 && xx < s.h) ? x[(c * s.h + y) * s.h + xx] : 0.0f;
          }
        }
      }
}
void col2im_nchw(const float* col, const ConvShape& s, float* dx) {
  const int ho = s.ho(), p = s.pad();
  std::fill_n(dx, static_cast<std::ptrdiff_t>(s.cin) * s.h * s.h, 0.0f);
  for (int c = 0; c < s.cin; ++c)
    for (int i = 0; i < s.k; ++i)
      for (int j = 0; j < s.k; ++j) {
        const float* row = col + (static_cast<std::ptrdiff_t>((c * s.k + i) * s.k + j)) * ho * ho;
        for (int oy = 0; oy < ho; ++oy) {
          const int y = oy * s.stride + i - p;
          if (y < 0 || y >= s.h) continue;
          for (int ox = 0; ox < ho; ++ox) {
            const int xx = ox * s.stride + j - p;
            if (xx >= 0 && xx < s.h) dx[(c * s.h + y) * s.h + xx] += row[oy * ho + ox];
          }
        }
      }
}
// NHWC im2col of the batch: col[(n*ho + oy)*wo + ox, (i*k + j)*cin + c]; each copy is a run of cin floats.
void im2col_nhwc(const float* x, const ConvShape& s, float* col) {
  const int ho = s.ho(), p = s.pad(), kd = s.kdim();
  for (int n = 0; n < s.n; ++n)
    for (int oy = 0; oy < ho; ++oy)
      for (int ox = 0; ox < ho; ++ox) {
        float* dst = col + (static_cast<std::ptrdiff_t>(n * ho + oy) * ho + ox) * kd;
        for (int i = 0; i < s.k; ++i) {
          const int y = oy * s.stride + i - p;
          for (int j = 0; j < s.k; ++j, dst += s.cin) {
            const int xx = ox * s.stride + j - p;
            if (y >= 0 && y < s.h && xx >= 0 && xx < s.h)
              std::copy_n(x + ((static_cast<std::ptrdiff_t>(n) * s.h + y) * s.h + xx) * s.cin, s.cin, dst);
            else
              std::fill_n(dst, s.cin, 0.0f);
          }
        }
      }
}
void col2im_nhwc(const float* col, const ConvShape& s, float* dx) {
  const int ho = s.ho(), p = s.pad(), kd = s.kdim();
  std::fill_n(dx, static_cast<std::ptrdiff_t>(s.n) * s.h * s.h * s.cin, 0.0f);
  for (int n = 0; n < s.n; ++n)
    for (int oy = 0; oy < ho; ++oy)
      for (int ox = 0; ox < ho; ++ox) {
        const float* src = col + (static_cast<std::ptrdiff_t>(n * ho + oy) * ho + ox) * kd;
        for (int i = 0; i < s.k; ++i) {
          const int y = oy * s.stride + i - p;
          for (int j = 0; j < s.k; ++j, src += s.cin) {
            const int xx = ox * s.stride + j - p;
            if (y < 0 || y >= s.h || xx < 0 || xx >= s.h) continue;
            float* d = dx + ((static_cast<std::ptrdiff_t>(n) * s.h + y) * s.h + xx) * s.cin;
            for (int c = 0; c < s.cin; ++c) d[c] += src[c];
          }
        }
      }
}

Tensor<float> filled(std::int64_t n) {
  auto t = Tensor<float>::empty({n});
  for (std::int64_t i = 0; i < n; ++i) t.data()[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
  return t;
}

void BM_conv_nchw(benchmark::State& st) {
  const ConvShape s = shapes[st.range(0)];
  const int ho = s.ho(), kd = s.kdim(), hw = ho * ho;
  auto x = filled(std::int64_t{s.n} * s.cin * s.h * s.h), w = filled(std::int64_t{s.cout} * kd);
  auto y = filled(std::int64_t{s.n} * s.cout * hw), dx = filled(x.numel()), dw = filled(w.numel());
  auto col = filled(std::int64_t{kd} * hw);
  Map W(w.data(), s.cout, kd), DW(dw.data(), s.cout, kd), C(col.data(), kd, hw);
  for (auto _ : st) {
    DW.setZero();
    for (int n = 0; n < s.n; ++n) {  // forward
      const bool direct = s.k == 1 && s.stride == 1;
      if (!direct) im2col_nchw(x.data() + std::int64_t{n} * s.cin * s.h * s.h, s, col.data());
      Map Y(y.data() + std::int64_t{n} * s.cout * hw, s.cout, hw);
      Y.noalias() = W * C;
    }
    for (int n = 0; n < s.n; ++n) {  // backward: dW += dY col^T, dcol = W^T dY, col2im
      Map DY(y.data() + std::int64_t{n} * s.cout * hw, s.cout, hw);
      im2col_nchw(x.data() + std::int64_t{n} * s.cin * s.h * s.h, s, col.data());
      DW.noalias() += DY * C.transpose();
      C.noalias() = W.transpose() * DY;
      col2im_nchw(col.data(), s, dx.data() + std::int64_t{n} * s.cin * s.h * s.h);
    }
    benchmark::DoNotOptimize(dx.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(6.0 * s.n * s.cout * hw * kd, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_conv_nhwc(benchmark::State& st) {
  const ConvShape s = shapes[st.range(0)];
  const int ho = s.ho(), kd = s.kdim(), rows = s.n * ho * ho;
  auto x = filled(std::int64_t{s.n} * s.cin * s.h * s.h), w = filled(std::int64_t{s.cout} * kd);
  auto y = filled(std::int64_t{rows} * s.cout), dx = filled(x.numel()), dw = filled(w.numel());
  auto col = filled(std::int64_t{rows} * kd);
  Map W(w.data(), s.cout, kd), DW(dw.data(), s.cout, kd), Y(y.data(), rows, s.cout);
  const bool direct = s.k == 1 && s.stride == 1;
  Map C(direct ? x.data() : col.data(), rows, kd);
  for (auto _ : st) {
    if (!direct) im2col_nhwc(x.data(), s, col.data());
    Y.noalias() = C * W.transpose();  // forward
    DW.noalias() = Y.transpose() * C;  // backward: dW = dY^T col
    Map DC(col.data(), rows, kd);
    DC.noalias() = Y * W;  // dcol = dY W
    col2im_nhwc(col.data(), s, dx.data());
    benchmark::DoNotOptimize(dx.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(6.0 * rows * s.cout * kd, benchmark::Counter::kIsIterationInvariantRate);
}
}  // namespace

BENCHMARK(BM_conv_nchw)->DenseRange(0, 5)->Unit(benchmark::kMillisecond)->MinTime(0.5);
BENCHMARK(BM_conv_nhwc)->DenseRange(0, 5)->Unit(benchmark::kMillisecond)->MinTime(0.5);

FASTPP_BENCHMARK_MAIN()
