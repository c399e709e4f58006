#pragma once
// The softmax family over rows of n values: softmax, log_softmax, their backwards, argmax, and the softmax
// cross-entropy with label smoothing (eps = 0 is plain cross-entropy) in one pass over each row.
#include <cmath>
#include <concepts>

#include "loss_blocks.hpp"

namespace fastpp::backend::cpu_detail {

struct SoftmaxKernels {
  template <std::floating_point A>
  static void softmax(const A* x, std::int64_t rows, std::int64_t n, A* y) { forward<false>(x, rows, n, y); }
  template <std::floating_point A>
  static void log_softmax(const A* x, std::int64_t rows, std::int64_t n, A* y) { forward<true>(x, rows, n, y); }
  // dx from the forward's output y and its gradient dy.
  template <std::floating_point A>
  static void softmax_backward(const A* y, const A* dy, std::int64_t rows, std::int64_t n, A* dx) {
    backward<false>(y, dy, rows, n, dx);
  }
  template <std::floating_point A>
  static void log_softmax_backward(const A* y, const A* dy, std::int64_t rows, std::int64_t n, A* dx) {
    backward<true>(y, dy, rows, n, dx);
  }

  // The first index of each row's largest value.
  template <std::floating_point A>
  static void argmax(const A* x, std::int64_t rows, std::int64_t n, std::int64_t* out) {
    for (std::int64_t i = 0; i < rows; ++i) {
      const A* row = x + i * n;
      std::int64_t best = 0;
      for (std::int64_t j = 1; j < n; ++j)
        if (row[j] > row[best]) best = j;
      out[i] = best;
    }
  }

  // Row i with target t, weight w (0 when ignored), d_j = x_j - max, s = sum_j exp(d_j), C classes:
  //   loss_i = eps / C * (C log s - sum_j d_j) + (1 - eps) * w (log s - d_t)
  // the two terms reduced apart as sum / smooth_divisor and sum / nll_divisor (1 for a sum; for the mean
  // the row count and the total weight). For the upstream gradient g_i, s_nll = w g_i / nll_divisor and
  // s_smooth = g_i / smooth_divisor: dx_j = ((1 - eps) s_nll + eps s_smooth) softmax_j - eps / C s_smooth
  // - (1 - eps) s_nll [j == t]. Outputs may be null: loss ([N] when per_row, else [1]), lse ([N],
  // max + log s), dx ([N, C], with grad: [N] when per_row, else [1]); exp is stored in dx and scaled there.
  template <std::floating_point A>
  static void softmax_cross_entropy(const A* x, std::int64_t rows, std::int64_t n, const std::int64_t* target,
                                    std::int64_t ignore_index, const float* weight, double eps, double nll_divisor,
                                    double smooth_divisor, bool per_row, A* loss, A* lse, const A* grad, A* dx) {
    const bool smoothing = eps != 0.0;
    const double cls = static_cast<double>(n);
    BlockSums total;
    with_row_ops<A>(n, [&](auto ops) {
      using Ops = decltype(ops);
      total = for_row_groups(rows, n, [&](std::int64_t i0, int count, BlockSums& sums) {
        RowStats<A> st[max_group];
        group_stats<Ops>(x + i0 * n, n, count, dx ? dx + i0 * n : nullptr, smoothing, st);
        for (int r = 0; r < count; ++r) {
          const std::int64_t i = i0 + r, t = target[i];
          const A* xi = x + i * n;
          const bool counted = t != ignore_index;
          const A log_s = std::log(st[r].sum_exp);
          const double w = !counted ? 0.0 : weight ? static_cast<double>(weight[t]) : 1.0;
          const double nll = counted ? w * static_cast<double>(log_s - (xi[t] - st[r].max)) : 0.0;
          const double smooth = smoothing ? cls * static_cast<double>(log_s) - static_cast<double>(st[r].sum_shifted) : 0.0;
          if (lse) lse[i] = st[r].max + log_s;
          if (loss && per_row) loss[i] = static_cast<A>(eps / cls * smooth + (1.0 - eps) * nll);
          sums.a += nll;
          sums.b += smooth;
          if (!dx) continue;
          A* di = dx + i * n;
          const double g = static_cast<double>(grad[per_row ? i : 0]);
          const double s_nll = w == 0.0 ? 0.0 : w * g / nll_divisor;  // an ignored row adds nothing, even for 0/0
          const double s_smooth = g / smooth_divisor;
          Ops::affine(di, n, static_cast<A>(((1.0 - eps) * s_nll + eps * s_smooth) / static_cast<double>(st[r].sum_exp)),
                      static_cast<A>(-eps / cls * s_smooth));
          if (counted) di[t] = static_cast<A>(di[t] - static_cast<A>((1.0 - eps) * s_nll));
        }
      });
    });
    if (loss && !per_row)
      loss[0] = static_cast<A>(eps / cls * (total.b / smooth_divisor) + (1.0 - eps) * (total.a / nll_divisor));
  }

 private:
  // Each group's maxima and sums of exp, then its outputs: softmax scales the stored exp, log_softmax
  // writes (x - max) - log s.
  template <bool Log, class A>
  static void forward(const A* x, std::int64_t rows, std::int64_t n, A* y) {
    with_row_ops<A>(n, [&](auto ops) {
      using Ops = decltype(ops);
      for_row_groups(rows, n, [&](std::int64_t i, int count, BlockSums&) {
        RowStats<A> st[max_group];
        group_stats<Ops>(x + i * n, n, count, Log ? nullptr : y + i * n, false, st);
        for (int r = 0; r < count; ++r)
          if constexpr (Log) Ops::log_softmax(x + (i + r) * n, n, st[r].max, std::log(st[r].sum_exp), y + (i + r) * n);
          else Ops::affine(y + (i + r) * n, n, A(1) / st[r].sum_exp, A(0));
      });
    });
  }
  template <bool Log, class A>
  static void backward(const A* y, const A* dy, std::int64_t rows, std::int64_t n, A* dx) {
    with_row_ops<A>(n, [&](auto ops) {
      for_row_groups(rows, n, [&](std::int64_t i0, int count, BlockSums&) {
        for (std::int64_t i = i0; i < i0 + count; ++i)
          decltype(ops)::template backward<Log>(y + i * n, dy + i * n, n, dx + i * n);
      });
    });
  }
};

}  // namespace fastpp::backend::cpu_detail
