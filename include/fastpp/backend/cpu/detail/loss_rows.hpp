#pragma once
// The row operations of the loss kernels, portable version (any x86-64 or other host, float and double).
// loss_rows_avx2.hpp has the same operations for float rows on AVX2 + FMA hosts; loss_kernels.hpp picks
// one of the two at run time. Each works on one row of n values and never allocates.
//
// Precision far from zero: every row is shifted by its maximum m first, d_j = x_j - m (one rounding, and
// none when x_j is within a factor 2 of m), and everything after works on d: exp(d_j), their sum s, and
// the results the callers form from log(s) and d (log_softmax = d - log s, the NLL = log s - d_t). The
// logsumexp m + log s itself is only formed for the caller that asks for it. So a row of logits near
// 1e4 loses no more than a row near 0 (see docs/loss.md, Numerics). A row's sums run one value after
// another here, so they are kept in double (in float, 1000 terms in one chain lose 2e-6 relative).
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "exp.hpp"

namespace fastpp::backend::cpu_detail {

inline float exp_row_value(float d) { return exp_nonpos_value(d); }
inline double exp_row_value(double d) { return std::exp(d); }

// What the first passes over a row find: its maximum, sum_j exp(x_j - m) and sum_j (x_j - m).
template <class A>
struct RowStats {
  A max, sum_exp, sum_shifted;
};

struct Portable {
  template <class A>
  static A row_max(const A* x, std::int64_t n) {
    A m = x[0];
    for (std::int64_t j = 1; j < n; ++j) m = x[j] > m ? x[j] : m;
    return m;
  }

  // The rest of a row's statistics, given its maximum st.max: stores exp(x_j - m) in e when e is not
  // null; sum_shifted only when asked.
  template <class A>
  static void exp_sums(const A* x, std::int64_t n, std::type_identity_t<A>* e, bool want_shifted, RowStats<A>& st) {
    double sum = 0, shifted = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      const A v = exp_row_value(x[j] - st.max);
      if (e) e[j] = v;
      sum += v;
    }
    if (want_shifted)
      for (std::int64_t j = 0; j < n; ++j) shifted += x[j] - st.max;
    st.sum_exp = static_cast<A>(sum);
    st.sum_shifted = static_cast<A>(shifted);
  }

  // y_j = y_j * scale + offset
  template <class A>
  static void affine(A* y, std::int64_t n, A scale, A offset) {
    for (std::int64_t j = 0; j < n; ++j) y[j] = y[j] * scale + offset;
  }

  // y_j = (x_j - m) - log_s
  template <class A>
  static void log_softmax(const A* x, std::int64_t n, A m, A log_s, A* y) {
    for (std::int64_t j = 0; j < n; ++j) y[j] = (x[j] - m) - log_s;
  }

  // dx_j = y_j (dy_j - sum_k dy_k y_k), from the softmax output y
  template <class A>
  static void softmax_backward(const A* y, const A* dy, std::int64_t n, A* dx) {
    double dot = 0;
    for (std::int64_t j = 0; j < n; ++j) dot += static_cast<double>(dy[j] * y[j]);
    for (std::int64_t j = 0; j < n; ++j) dx[j] = y[j] * (dy[j] - static_cast<A>(dot));
  }

  // dx_j = dy_j - exp(y_j) sum_k dy_k, from the log_softmax output y (y <= 0)
  template <class A>
  static void log_softmax_backward(const A* y, const A* dy, std::int64_t n, A* dx) {
    double sum = 0;
    for (std::int64_t j = 0; j < n; ++j) sum += dy[j];
    for (std::int64_t j = 0; j < n; ++j) dx[j] = dy[j] - exp_row_value(y[j]) * static_cast<A>(sum);
  }
};

}  // namespace fastpp::backend::cpu_detail
