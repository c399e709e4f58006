#pragma once
// The cpu loss kernels: every loop over data that loss/ runs, for float and double (half and bfloat16
// are computed in float by loss/). Plain static functions over raw pointers and sizes, so a device
// written for a test can forward each one and count its calls. Arrays are row-major [rows, n], class
// indices int64 ([rows]), class weights float ([n] or null). detail/loss_blocks.hpp splits the rows over
// threads and picks their AVX2 or portable code.
#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>

#include "../cross_entropy_row.hpp"
#include "../kernels.hpp"
#include "../logistic_math.hpp"
#include "detail/loss_blocks.hpp"

namespace fastpp::backend {

namespace cpu_detail {

// The transcendental functions of backend/logistic_math.hpp's formulas on the cpu: the loss kernels'
// polynomial exp (detail/exp.hpp) and std::log1p.
struct CpuLogisticMath {
  template <class A>
  static A exp_nonpos(A x) { return exp_nonpos_value(x); }
  template <class A>
  static A log1p(A x) { return std::log1p(x); }
};

// 1 / (1 + exp(-x)) without overflow for either sign (logistic_math.hpp, shared with the CUDA kernels).
template <class A>
A sigmoid_of(A x) { return sigmoid_value<CpuLogisticMath>(x); }

// PyTorch's binary_cross_entropy_with_logits for one element, class weight w, positive weight pw
// (logistic_math.hpp).
template <class A>
A bce_of(A x, A y, A w, A pw) { return bce_value<CpuLogisticMath>(x, y, w, pw); }

// f(i) for every element, in parallel (element-wise results do not depend on how the work is split).
template <class F>
void for_elements(std::int64_t count, F&& f) {
  fastpp::parallel_for(0, count, 16384, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) f(i);
  });
}

struct LossKernels {
  // The softmax family over rows of n values: softmax, log_softmax, their backwards, argmax, and the
  // softmax cross-entropy with label smoothing (eps = 0 is plain cross-entropy) in one pass over each row.
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

  // The first index of each row's largest value (a NaN is never larger; an empty row gives 0).
  template <std::floating_point A>
  static void argmax(const A* x, std::int64_t rows, std::int64_t n, std::int64_t* out) {
    for (std::int64_t i = 0; i < rows; ++i) out[i] = std::max_element(x + i * n, x + i * n + n) - (x + i * n);
  }

  // The formulas of each row are in backend/cross_entropy_row.hpp, shared with the CUDA kernel. Outputs
  // may be null: loss ([N] when per_row, else [1]), lse ([N], max + log s), dx ([N, C], with grad: [N]
  // when per_row, else [1]); exp is stored in dx and scaled there.
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
          const A d_t = counted ? xi[t] - st[r].max : A(0);  // an ignored row's target may be any index
          const CrossEntropyTerms terms =
              cross_entropy_terms<A>(log_s, d_t, st[r].sum_shifted, w, counted, smoothing, cls);
          if (lse) lse[i] = st[r].max + log_s;
          if (loss && per_row) loss[i] = static_cast<A>(cross_entropy_loss(terms.nll, terms.smooth, eps, cls));
          sums.a += terms.nll;
          sums.b += terms.smooth;
          if (!dx) continue;
          A* di = dx + i * n;
          const double g = static_cast<double>(grad[per_row ? i : 0]);
          const CrossEntropyGrad gr =
              cross_entropy_grad(g, w, eps, cls, nll_divisor, smooth_divisor, static_cast<double>(st[r].sum_exp));
          Ops::affine(di, n, static_cast<A>(gr.scale), static_cast<A>(gr.offset));
          if (counted) di[t] = cross_entropy_at_target(di[t], gr);
        }
      });
    });
    if (loss && !per_row)
      loss[0] = static_cast<A>(cross_entropy_loss(total.a / nll_divisor, total.b / smooth_divisor, eps, cls));
  }

  // The kernels that read one value per class index or per element: target checks, nll_loss, sigmoid
  // and binary cross-entropy on logits. Reduced values are summed in double in row blocks.
  // Checks class-index targets: each in [0, classes) or equal to ignore_index. Returns the sum of the
  // class weights of the rows that count (their number without weights), the divisor of a mean; bad_row
  // and bad_value get the first bad target's row and value, or -1 and 0.
  static double scan_targets(const std::int64_t* t, std::int64_t rows, std::int64_t classes, std::int64_t ignore_index,
                             const float* weight, std::int64_t* bad_row, std::int64_t* bad_value) {
    double total = 0;
    for (std::int64_t i = 0; i < rows; ++i) {
      if (t[i] == ignore_index) continue;
      if (t[i] < 0 || t[i] >= classes) return *bad_row = i, *bad_value = t[i], 0.0;
      total += weight ? static_cast<double>(weight[t[i]]) : 1.0;
    }
    return *bad_row = -1, *bad_value = 0, total;
  }
  // int32 or uint8 class indices to int64.
  template <class I>
  static void widen_targets(const I* in, std::int64_t count, std::int64_t* out) { std::copy(in, in + count, out); }

  // Row i's loss -w[t_i] logp[i, t_i] (0 when ignored); reduced as sum / divisor unless per_row.
  template <std::floating_point A>
  static void nll_loss(const A* logp, std::int64_t rows, std::int64_t n, const std::int64_t* t,
                       std::int64_t ignore_index, const float* weight, double divisor, bool per_row, A* loss) {
    double sum = 0;
    for (std::int64_t i = 0; i < rows; ++i) {
      const bool counted = t[i] != ignore_index;
      const double w = counted && weight ? static_cast<double>(weight[t[i]]) : 1.0;
      const double li = counted ? -w * static_cast<double>(logp[i * n + t[i]]) : 0.0;
      if (per_row) loss[i] = static_cast<A>(li);
      sum += li;
    }
    if (!per_row) loss[0] = static_cast<A>(sum / divisor);
  }
  // dlogp is zero but at the targets: -w[t_i] g_i / divisor.
  template <std::floating_point A>
  static void nll_loss_backward(std::int64_t rows, std::int64_t n, const std::int64_t* t, std::int64_t ignore_index,
                                const float* weight, double divisor, bool per_row, const A* grad, A* dlogp) {
    fastpp::parallel_for(0, rows, 64, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) {
        A* row = dlogp + i * n;
        for (std::int64_t j = 0; j < n; ++j) row[j] = A(0);
        if (t[i] == ignore_index) continue;
        const double w = weight ? static_cast<double>(weight[t[i]]) : 1.0;
        row[t[i]] = static_cast<A>(-w * static_cast<double>(grad[per_row ? i : 0]) / divisor);
      }
    });
  }

  template <std::floating_point A>
  static void sigmoid(const A* x, std::int64_t count, A* y) {
    for_elements(count, [&](std::int64_t i) { y[i] = sigmoid_of(x[i]); });
  }
  template <std::floating_point A>
  static void sigmoid_backward(const A* y, const A* dy, std::int64_t count, A* dx) {
    for_elements(count, [&](std::int64_t i) { dx[i] = sigmoid_grad_value(y[i], dy[i]); });
  }

  // Elements of rows of n (weights along the last axis); reduced as sum / divisor unless per_element.
  template <std::floating_point A>
  static void bce_with_logits(const A* x, const A* y, std::int64_t count, std::int64_t n, const float* weight,
                              const float* pos_weight, double divisor, bool per_element, A* loss) {
    const auto total = for_row_blocks(n == 0 ? 0 : count / n, n, [&](std::int64_t r0, std::int64_t r1) {
      BlockSums s;
      for (std::int64_t i = r0 * n; i < r1 * n; ++i) {
        const A l = bce_of(x[i], y[i], weight ? A(weight[i % n]) : A(1), pos_weight ? A(pos_weight[i % n]) : A(1));
        if (per_element) loss[i] = l;
        s.a += static_cast<double>(l);
      }
      return s;
    });
    if (!per_element) loss[0] = static_cast<A>(total.a / divisor);
  }
  // dx = w ((1 - y) - (1 + (pw - 1) y) sigmoid(-x)) g, with g = grad[i] per element, else grad[0] / divisor
  template <std::floating_point A>
  static void bce_with_logits_backward(const A* x, const A* y, std::int64_t count, std::int64_t n, const float* weight,
                                       const float* pos_weight, double divisor, bool per_element, const A* grad,
                                       A* dx) {
    const A scale = static_cast<A>(static_cast<double>(grad[0]) / divisor);
    for_elements(count, [&](std::int64_t i) {
      const A w = weight ? A(weight[i % n]) : A(1), pw = pos_weight ? A(pos_weight[i % n]) : A(1);
      dx[i] = bce_grad_value<CpuLogisticMath>(x[i], y[i], w, pw) * (per_element ? grad[i] : scale);
    });
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

}  // namespace cpu_detail

template <>
struct loss_kernels<cpu> : cpu_detail::LossKernels {};

}  // namespace fastpp::backend
