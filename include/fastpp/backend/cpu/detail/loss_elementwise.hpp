#pragma once
// The loss kernels that read one value per class index or per element: target checks, nll_loss, sigmoid
// and binary cross-entropy on logits. Reduced values are summed in double in row blocks (loss_blocks.hpp).
#include <cmath>
#include <concepts>
#include <cstdint>

#include "loss_blocks.hpp"

namespace fastpp::backend::cpu_detail {

// 1 / (1 + exp(-x)) without overflow for either sign: with e = exp(-|x|) <= 1, 1/(1+e) or e/(1+e).
template <class A>
A sigmoid_of(A x) {
  const A e = exp_nonpos_value(x < A(0) ? x : -x);
  const A r = A(1) / (A(1) + e);
  return x < A(0) ? e * r : r;
}

// PyTorch's binary_cross_entropy_with_logits for one element, class weight w, positive weight pw:
//   w ((1 - y) x + (1 + (pw - 1) y) log(1 + exp(-x))),  log(1 + exp(-x)) = max(-x, 0) + log1p(exp(-|x|))
template <class A>
A bce_of(A x, A y, A w, A pw) {
  const A softplus_neg = (x < A(0) ? -x : A(0)) + std::log1p(exp_nonpos_value(x < A(0) ? x : -x));
  return w * ((A(1) - y) * x + (A(1) + (pw - A(1)) * y) * softplus_neg);
}

// f(i) for every element, in parallel (element-wise results do not depend on how the work is split).
template <class F>
void for_elements(std::int64_t count, F&& f) {
  fastpp::parallel_for(0, count, 16384, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) f(i);
  });
}

struct ElementwiseKernels {
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
  static void widen_targets(const I* in, std::int64_t count, std::int64_t* out) {
    for (std::int64_t i = 0; i < count; ++i) out[i] = static_cast<std::int64_t>(in[i]);
  }

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
    for_elements(count, [&](std::int64_t i) { dx[i] = dy[i] * y[i] * (A(1) - y[i]); });
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
      dx[i] = w * ((A(1) - y[i]) - (A(1) + (pw - A(1)) * y[i]) * sigmoid_of(-x[i])) * (per_element ? grad[i] : scale);
    });
  }
};

}  // namespace fastpp::backend::cpu_detail
