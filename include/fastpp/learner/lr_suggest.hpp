#pragma once
// lr_find's suggestion rules, as fastai writes them (fastai/callback/schedule.py: valley, slide, minimum,
// steep), and the window of the recorded sweep they look at (lr_find: [num_it/10 : -5], cut at the first
// NaN loss). Each rule returns the learning rate it suggests and the point (x, y) fastai plots for it.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../core/error.hpp"

namespace fastpp {

struct LrSuggestion {
  double lr;  // the suggested learning rate
  double x;   // the point to mark on the loss-against-lr plot
  double y;
};

namespace detail {
inline void check_curve(const char* who, const std::vector<double>& lrs, const std::vector<double>& losses,
                        std::size_t at_least) {
  check(lrs.size() == losses.size(), who, ": ", lrs.size(), " learning rates for ", losses.size(), " losses");
  check(losses.size() >= at_least, who, ": needs at least ", at_least, " recorded points, got ", losses.size(),
        " (run lr_find with a larger num_it, or on more batches)");
}
// The index fastai plots at for a suggested lr: the first i nearest to it.
inline std::size_t nearest(const std::vector<double>& lrs, double lr) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < lrs.size(); ++i)
    if (std::abs(lrs[i] - lr) < std::abs(lrs[best] - lr)) best = i;
  return best;
}
// numpy.interp(x, xp, fp) for increasing xp: clamped at both ends, exact at the knots.
inline double interp(double x, const std::vector<double>& xp, const std::vector<double>& fp) {
  const std::size_t n = xp.size();
  if (std::isnan(x)) return x;
  if (x < xp[0]) return fp[0];
  if (x >= xp[n - 1]) return fp[n - 1];
  const std::size_t j = static_cast<std::size_t>(std::upper_bound(xp.begin(), xp.end(), x) - xp.begin()) - 1;
  if (x == xp[j]) return fp[j];
  const double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
  double y = slope * (x - xp[j]) + fp[j];
  if (std::isnan(y)) {  // numpy's retry from the right knot, then the flat case
    y = slope * (x - xp[j + 1]) + fp[j + 1];
    if (std::isnan(y) && fp[j] == fp[j + 1]) y = fp[j];
  }
  return y;
}
}  // namespace detail

// fastai's default: the longest run of strictly decreasing losses (a longest-decreasing-subsequence DP),
// and the point roughly halfway into its middle third.
inline LrSuggestion valley(const std::vector<double>& lrs, const std::vector<double>& losses) {
  detail::check_curve("valley", lrs, losses, 1);
  const auto n = static_cast<std::int64_t>(losses.size());
  std::vector<std::int64_t> lds(static_cast<std::size_t>(n), 1);
  std::int64_t max_start = 0, max_end = 0;
  for (std::int64_t i = 1; i < n; ++i) {
    for (std::int64_t j = 0; j < i; ++j) {
      const auto ui = static_cast<std::size_t>(i), uj = static_cast<std::size_t>(j);
      if (losses[ui] < losses[uj] && lds[ui] < lds[uj] + 1) lds[ui] = lds[uj] + 1;
      if (lds[static_cast<std::size_t>(max_end)] < lds[ui]) {
        max_end = i;
        max_start = max_end - lds[static_cast<std::size_t>(max_end)];
      }
    }
  }
  const double sections = static_cast<double>(max_end - max_start) / 3;
  std::int64_t idx = max_start + static_cast<std::int64_t>(sections) + static_cast<std::int64_t>(sections / 2);
  if (idx < 0) idx += n;  // max_start can be -1 (a valley from the first point); Python's lrs[-1] is the last
  const auto k = static_cast<std::size_t>(idx);
  return {lrs[k], lrs[k], losses[k]};
}

// fastai's slide: from the right end, slide a window of lr_diff points left while the loss gradients at
// its two ends differ by more than thresh; suggest the window's left end (times adjust_value).
inline LrSuggestion slide(const std::vector<double>& lrs, const std::vector<double>& losses, double lr_diff = 15,
                          double thresh = 0.005, double adjust_value = 1.0) {
  check(lr_diff >= 0 && lr_diff == std::floor(lr_diff) && lr_diff < 1e9, "slide: lr_diff ", lr_diff,
        " must be a whole number of points >= 0");
  const auto diff = static_cast<std::int64_t>(lr_diff);
  detail::check_curve("slide", lrs, losses, static_cast<std::size_t>(std::max<std::int64_t>(2, diff + 1)));
  const auto n = static_cast<std::int64_t>(losses.size());
  // numpy.gradient with unit spacing: central differences inside, one-sided at the ends.
  std::vector<double> grad(static_cast<std::size_t>(n));
  grad[0] = losses[1] - losses[0];
  grad[static_cast<std::size_t>(n - 1)] = losses[static_cast<std::size_t>(n - 1)] - losses[static_cast<std::size_t>(n - 2)];
  for (std::int64_t i = 1; i + 1 < n; ++i)
    grad[static_cast<std::size_t>(i)] = (losses[static_cast<std::size_t>(i + 1)] - losses[static_cast<std::size_t>(i - 1)]) / 2.0;
  std::int64_t r = n - 1, l = r - diff;
  double candidate = lrs[static_cast<std::size_t>(l)];
  while (l >= 0 && std::abs(grad[static_cast<std::size_t>(r)] - grad[static_cast<std::size_t>(l)]) > thresh) {
    candidate = lrs[static_cast<std::size_t>(l)];
    --r;
    --l;
  }
  const double suggestion = candidate * adjust_value;
  std::vector<double> log_lrs(lrs.size());
  for (std::size_t i = 0; i < lrs.size(); ++i) log_lrs[i] = std::log10(lrs[i]);
  return {suggestion, suggestion, detail::interp(std::log10(suggestion), log_lrs, losses)};
}

// fastai's minimum: a tenth of the lr at the lowest loss (the book's old "minimum / 10" rule).
inline LrSuggestion minimum(const std::vector<double>& lrs, const std::vector<double>& losses) {
  detail::check_curve("minimum", lrs, losses, 1);
  const auto at = static_cast<std::size_t>(std::min_element(losses.begin(), losses.end()) - losses.begin());
  const double lr_min = lrs[at];
  return {lr_min / 10, lr_min, losses[detail::nearest(lrs, lr_min)]};
}

// fastai's steep: the lr where the loss falls fastest against log(lr).
inline LrSuggestion steep(const std::vector<double>& lrs, const std::vector<double>& losses) {
  detail::check_curve("steep", lrs, losses, 2);
  std::size_t at = 0;
  double best = 0;
  for (std::size_t i = 0; i + 1 < losses.size(); ++i) {
    const double slope = (losses[i + 1] - losses[i]) / (std::log(lrs[i + 1]) - std::log(lrs[i]));
    if (std::isnan(slope)) {  // torch's argmin answers the first NaN
      at = i;
      break;
    }
    if (i == 0 || slope < best) {
      best = slope;
      at = i;
    }
  }
  const double lr = lrs[at];
  return {lr, lr, losses[detail::nearest(lrs, lr)]};
}

// The part of an lr_find sweep the suggestions look at: points [num_it/10 : -5] of the recorded lrs and
// (smoothed) losses, cut before the first NaN loss.
struct LrFindWindow {
  std::vector<double> lrs, losses;
};
inline LrFindWindow lr_find_window(const std::vector<double>& lrs, const std::vector<double>& losses, int num_it) {
  check(lrs.size() == losses.size(), "lr_find_window: ", lrs.size(), " learning rates for ", losses.size(),
        " losses");
  check(num_it >= 1, "lr_find_window: num_it is ", num_it, " (need at least 1)");
  const std::size_t n = losses.size();
  const std::size_t begin = std::min(n, static_cast<std::size_t>(num_it / 10));
  std::size_t end = n >= 5 ? n - 5 : 0;
  if (end < begin) end = begin;
  for (std::size_t i = begin; i < end; ++i)
    if (std::isnan(losses[i])) {
      end = i;
      break;
    }
  check(end > begin, "lr_find: no points left to suggest from: ", n, " recorded, of which [", num_it / 10,
        " : -5] (skipping the first num_it/10 and the last 5) cut before the first NaN loss is empty (the sweep "
        "stopped too early: try a smaller start_lr or a larger num_it)");
  LrFindWindow w;
  w.lrs.assign(lrs.begin() + static_cast<std::ptrdiff_t>(begin), lrs.begin() + static_cast<std::ptrdiff_t>(end));
  w.losses.assign(losses.begin() + static_cast<std::ptrdiff_t>(begin), losses.begin() + static_cast<std::ptrdiff_t>(end));
  return w;
}

}  // namespace fastpp
