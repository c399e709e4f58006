#pragma once
// The row operations of the loss kernels, portable version (any host, float and double rows);
// loss_rows_avx2.hpp has the same operations for float rows on AVX2 + FMA, and loss_blocks.hpp picks one
// of the two at run time. Each works on one row of n values and never allocates.
//
// Every row is shifted by its maximum m first, d_j = x_j - m, and every result is formed from d and
// log(sum_j exp d_j), never from a rounded logsumexp: rows far from zero lose nothing (docs/loss.md,
// Numerics). The sums here run one value after another, so they are kept in double (in float, 1000 terms
// in one chain lose 2e-6 relative).
#include <cstdint>
#include <type_traits>

#include "exp.hpp"

namespace fastpp::backend::cpu_detail {

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

  // The rest of a row's statistics, given st.max: exp(x_j - m) is stored in e when e is not null, and
  // sum_shifted is formed only when asked.
  template <class A>
  static void exp_sums(const A* x, std::int64_t n, std::type_identity_t<A>* e, bool want_shifted, RowStats<A>& st) {
    double sum = 0, shifted = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      const A v = exp_nonpos_value(x[j] - st.max);
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

  // dx from the forward's output y: softmax's dx_j = y_j (dy_j - sum_k dy_k y_k), or when Log,
  // log_softmax's dx_j = dy_j - exp(y_j) sum_k dy_k (y <= 0).
  template <bool Log, class A>
  static void backward(const A* y, const A* dy, std::int64_t n, A* dx) {
    double s = 0;
    for (std::int64_t j = 0; j < n; ++j) s += Log ? static_cast<double>(dy[j]) : static_cast<double>(dy[j] * y[j]);
    const A sa = static_cast<A>(s);
    for (std::int64_t j = 0; j < n; ++j) dx[j] = Log ? dy[j] - exp_nonpos_value(y[j]) * sa : y[j] * (dy[j] - sa);
  }
};

}  // namespace fastpp::backend::cpu_detail
