#pragma once
// The engine behind cross_entropy and label-smoothing cross-entropy: both are "log_softmax, then a
// linear function of it", so one row pass serves both. For row i with target t, weight w_t (0 when the
// row is ignored), lse = logsumexp(x_i) and C classes:
//   nll_i    = w_t * (lse - x_t)
//   smooth_i = sum_j (lse - x_j) = C * lse - sum_j x_j            (label smoothing only)
//   loss_i   = eps / C * smooth_i + (1 - eps) * nll_i
// and its gradient is   d loss_i / dx_j = a softmax_j - b [j == t] - c   with
//   a = (1 - eps) s_nll + eps s_smooth,  b = (1 - eps) s_nll,  c = eps / C * s_smooth,
// where s_nll and s_smooth are the upstream gradient times the factor of each part's reduction
// (1/total weight and 1/N for the mean). Cross-entropy is eps = 0.
//
// Three passes share the code: forward (loss, saves lse), backward (from x and the saved lse) and fused
// (loss and gradient in one pass over x: the training step, at the speed of a copy).
#include <algorithm>
#include <cstdint>

#include "checks.hpp"
#include "nll.hpp"
#include "row_blocks.hpp"
#include "row_math.hpp"
#include "stream_out.hpp"

namespace fastpp::loss_detail {

enum class Pass { forward, backward, fused };

template <class T>
struct SoftmaxLossJob {
  using A = acc_t<T>;
  const T* x = nullptr;
  std::int64_t rows = 0, classes = 0;
  const std::int64_t* target = nullptr;
  const float* weight = nullptr;  // null: all ones
  std::int64_t ignore_index = -100;
  Reduction reduction = Reduction::mean;
  double eps = 0;                 // label smoothing; 0 for cross-entropy
  double total_weight = 0;        // sum of the weights of the rows that count
  // upstream gradient: g[i] per row (reduction none) or g[0] for all
  const A* grad = nullptr;
  // outputs, each may be null when not wanted
  A* loss_rows = nullptr;         // [N] per-row loss (reduction none)
  A* lse = nullptr;               // [N] logsumexp, written by forward/fused
  const A* saved_lse = nullptr;   // [N] logsumexp the forward saved, read by backward
  T* dx = nullptr;                // [N, C] gradient

  double weight_of(std::int64_t i) const {
    if (target[i] == ignore_index) return 0.0;
    return weight ? static_cast<double>(weight[target[i]]) : 1.0;
  }
  // The parts of the gradient coefficients that are the same for every row (computed once per pass).
  struct GradFactors {
    double nll = 0, smooth = 0, smooth_c = 0;
  };
  GradFactors grad_factors() const {
    GradFactors f;
    const double g = reduction == Reduction::none ? 1.0 : static_cast<double>(grad[0]);
    f.nll = reduction == Reduction::mean ? g / total_weight : g;
    f.smooth = reduction == Reduction::mean ? g / static_cast<double>(rows) : g;
    f.smooth_c = eps / static_cast<double>(classes);
    return f;
  }
  // Coefficients a, b, c of row i's gradient (see the header comment).
  void grad_coefficients(std::int64_t i, const GradFactors& f, A& a, A& b, A& c) const {
    const double gi = reduction == Reduction::none ? static_cast<double>(grad[i]) : 1.0;
    coefficients_of(weight_of(i), gi, f, a, b, c);
  }
  // The same for a row of weight w (0 when ignored) and upstream gradient gi.
  void coefficients_of(double w, double gi, const GradFactors& f, A& a, A& b, A& c) const {
    const double s_nll = w == 0.0 ? 0.0 : w * f.nll * gi;  // an ignored row adds nothing, even when 1/W is inf
    const double s_smooth = f.smooth * gi;
    a = static_cast<A>((1.0 - eps) * s_nll + eps * s_smooth);
    b = static_cast<A>((1.0 - eps) * s_nll);
    c = static_cast<A>(f.smooth_c * s_smooth);
  }
};

// Runs one pass over all rows; returns the sums of nll_i (a) and smooth_i (b) over the rows. The gradient
// (backward and fused passes) goes through write_rows: streamed when it is larger than the caches.
template <Pass P, class T>
BlockSums softmax_loss_pass(const SoftmaxLossJob<T>& job) {
  using A = acc_t<T>;
  const std::int64_t c = job.classes;
  const auto factors = P == Pass::forward ? typename SoftmaxLossJob<T>::GradFactors{} : job.grad_factors();
  // Without class weights or per-row upstream gradients every counted row has the same coefficients.
  const bool no_weights_reduced = !job.weight && job.reduction != Reduction::none;
  const bool uniform = P != Pass::forward && no_weights_reduced;
  A counted_abc[3] = {}, ignored_abc[3] = {};
  if (uniform) {
    job.coefficients_of(1.0, 1.0, factors, counted_abc[0], counted_abc[1], counted_abc[2]);
    job.coefficients_of(0.0, 1.0, factors, ignored_abc[0], ignored_abc[1], ignored_abc[2]);
  }
  const auto coefficients = [&](std::int64_t i, A& a, A& b, A& cc) {
    if (uniform) {
      const A* abc = job.target[i] != job.ignore_index ? counted_abc : ignored_abc;
      a = abc[0], b = abc[1], cc = abc[2];
    } else {
      job.grad_coefficients(i, factors, a, b, cc);
    }
  };
  const bool stream = P != Pass::forward && should_stream<T>(job.rows, c, 1);
  // Long rows of the fused pass stream from the kernel itself; the rest through write_rows' staging buffer.
  const bool stream_direct = stream && P == Pass::fused && loss_math::fused_rows_stream_directly(c, job.dx);
  constexpr int G = loss_math::row_group;

  // The job's fields in locals: the compiler cannot keep them in registers across the stores of the
  // kernels otherwise (they might alias), and this loop runs once per 8 rows of 37 values.
  const T* const x = job.x;
  const std::int64_t* const target = job.target;
  const std::int64_t ignore = job.ignore_index;
  const float* const weight = job.weight;
  const double eps = job.eps;
  A* const lse_out = job.lse;
  A* const loss_rows = job.loss_rows;
  const std::int64_t ahead = loss_math::prefetch_distance(c);
  // A group whose rows all count (the usual one) reads its targets where they are and, with uniform
  // coefficients, these shared arrays: arrays filled row by row just before the kernel loads them as
  // vectors cost a failed store-to-load forward every group (4-9% of a 37-class pass).
  A all_a[G], all_b[G], all_c[G];
  for (int r = 0; r < G; ++r) all_a[r] = counted_abc[0], all_b[r] = counted_abc[1], all_c[r] = counted_abc[2];
  // The training step's case, cross-entropy reduced to one number without class weights, has a row loss of
  // lse - x_t (the same bits as the general 1.0 * (lse - x_t)) and a bookkeeping loop of its own: with the
  // general one the driver executed 62 instructions per row, with this one 20 (callgrind), against about 190
  // in the 37-class kernel itself. A whole group's 8 row losses are added pairwise before they join the
  // running sum (the loss's last bits differ from the general loop's, which adds row by row; the blocks,
  // and so the bits, still do not depend on the thread count). The forward pass (a validation loss) takes the
  // same loop under the same conditions, so its loss has the fused pass's bits.
  const bool plain_ce = P != Pass::backward && no_weights_reduced && eps == 0.0 && !loss_rows;
  // Rows [r0, r1) in groups of G; dx_rows holds their gradient rows (leading dimension c).
  const auto rows_pass = [&](std::int64_t r0, std::int64_t r1, T* dx_rows, BlockSums& sums) {
    double nll_sum = 0.0, smooth_sum = 0.0;
    for (std::int64_t i0 = r0; i0 < r1; i0 += G) {
      const int count = static_cast<int>(r1 - i0 < G ? r1 - i0 : G);
      const T* x0 = x + i0 * c;
      T* dx0 = dx_rows ? dx_rows + (i0 - r0) * c : nullptr;
      const std::int64_t* tg = target + i0;  // the rows' targets, -1 for an ignored row
      bool any_ignored = false;
      if (count == G)  // a fixed trip count, so the compiler compares the 8 targets in two vector steps
        for (int r = 0; r < G; ++r) any_ignored |= tg[r] == ignore;
      else
        for (int r = 0; r < count; ++r) any_ignored |= tg[r] == ignore;
      const bool all_counted = !any_ignored;
      std::int64_t tg_ignored[G];
      if (!all_counted) {
        for (int r = 0; r < count; ++r) tg_ignored[r] = tg[r] != ignore ? tg[r] : -1;
        tg = tg_ignored;
      }
      A lse[G];
      if constexpr (P == Pass::backward) {
        for (int r = 0; r < count; ++r) {
          A a, b, cc;
          coefficients(i0 + r, a, b, cc);
          loss_math::softmax_loss_row_backward(x0 + r * c, c, job.saved_lse[i0 + r], tg[r], a, b, cc, dx0 + r * c);
        }
        continue;
      } else if constexpr (P == Pass::forward) {
        loss_math::rows_logsumexp(x0, c, c, count, lse);
      } else {
        const A *a = all_a, *b = all_b, *cc = all_c;
        A group_a[G], group_b[G], group_c[G];
        if (!(uniform && all_counted)) {
          for (int r = 0; r < count; ++r) coefficients(i0 + r, group_a[r], group_b[r], group_c[r]);
          a = group_a, b = group_b, cc = group_c;
        }
        loss_math::rows_softmax_loss_fused(x0, c, count, tg, a, b, cc, dx0, lse, x0 + ahead, stream_direct);
      }
      if (lse_out)
        for (int r = 0; r < count; ++r) lse_out[i0 + r] = lse[r];
      if (plain_ce) {
        if (count == G && all_counted) {  // a whole group: its 8 losses as vectors, added pairwise
          static_assert(G == 8, "the pairwise sum below adds exactly one group of 8 rows");
          A x_t[G];
          for (int r = 0; r < G; ++r) x_t[r] = static_cast<A>(x0[r * c + tg[r]]);
          double nll[G];
          for (int r = 0; r < G; ++r) nll[r] = static_cast<double>(lse[r] - x_t[r]);
          nll_sum += ((nll[0] + nll[1]) + (nll[2] + nll[3])) + ((nll[4] + nll[5]) + (nll[6] + nll[7]));
        } else {
          for (int r = 0; r < count; ++r)
            if (tg[r] >= 0) nll_sum += static_cast<double>(lse[r] - static_cast<A>(x0[r * c + tg[r]]));
        }
        continue;
      }
      for (int r = 0; r < count; ++r) {
        const std::int64_t t = tg[r];
        const T* xi = x0 + r * c;
        const double w = t < 0 ? 0.0 : weight ? static_cast<double>(weight[t]) : 1.0;
        const double nll = t < 0 ? 0.0 : w * static_cast<double>(lse[r] - static_cast<A>(xi[t]));
        double smooth = 0.0;
        if (eps != 0.0)  // sum_j (lse - x_j); x is read again, but from the cache
          smooth = static_cast<double>(c) * static_cast<double>(lse[r]) - static_cast<double>(loss_math::row_sum(xi, c));
        if (loss_rows) loss_rows[i0 + r] = static_cast<A>(eps / static_cast<double>(c) * smooth + (1.0 - eps) * nll);
        nll_sum += nll;
        smooth_sum += smooth;
      }
    }
    sums.a += nll_sum;
    sums.b += smooth_sum;
  };
  return for_row_blocks(job.rows, c, [&](std::int64_t r0, std::int64_t r1) {
    BlockSums sums;
    if constexpr (P == Pass::forward) {
      rows_pass(r0, r1, nullptr, sums);
    } else if (stream_direct) {
      rows_pass(r0, r1, job.dx + r0 * c, sums);
      stream_fence();
    } else {
      write_rows(r0, r1, c, job.dx, stream, G,
                 [&](std::int64_t i0, std::int64_t i1, T* out) { rows_pass(i0, i1, out, sums); });
    }
    return sums;
  });
}

// The reduced loss from the pass's sums.
template <class T>
double reduced_value(const SoftmaxLossJob<T>& job, const BlockSums& s) {
  const double cls = static_cast<double>(job.classes);
  if (job.reduction == Reduction::mean)
    return job.eps / cls * (s.b / static_cast<double>(job.rows)) + (1.0 - job.eps) * (s.a / job.total_weight);
  return job.eps / cls * s.b + (1.0 - job.eps) * s.a;
}

// Writes the loss output: per-row values were written during the pass; a reduced one is written here.
template <class T>
void finish_loss(const SoftmaxLossJob<T>& job, const BlockSums& s, Tensor<acc_t<T>>& loss) {
  if (job.reduction != Reduction::none) loss.data()[0] = static_cast<acc_t<T>>(reduced_value(job, s));
}

}  // namespace fastpp::loss_detail
