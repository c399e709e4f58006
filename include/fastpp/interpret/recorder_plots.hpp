#pragma once
// The Recorder's pictures and lr_find's, as SVG files (fastai's recorder.plot_loss, recorder.plot_sched,
// learn.lr_find()'s figure):
//
//   plot_loss(learn.recorder(), "loss.svg");              // train loss per iteration, valid loss per epoch
//   plot_sched(learn.recorder(), "sched.svg");            // lr and momentum per iteration
//   plot_lr_find(learn.lr_find(), "lr_find.svg");         // loss against lr (log axis), suggestions marked
//
// Each has a *_svg twin returning the text. The data marks carry classes a test can count: "train-loss"
// (a polyline, one point per iteration), "valid-loss" (a polyline and one circle per epoch), "lr" and
// "mom" (polylines), "lr-find" (a polyline), "suggestion" (one circle per suggestion).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "../learner/recipes.hpp"  // LrFindResult, and the Recorder's member definitions
#include "../learner/recorder.hpp"
#include "svg.hpp"

namespace fastpp {

struct PlotLossOptions {
  std::int64_t skip_start = 5;  // leave out the first iterations (fastai's default), whose loss dwarfs the rest
  bool with_valid = true;       // the valid loss at the end of each epoch
  std::string title = "Loss";
};

namespace interpret_detail {
inline std::vector<std::pair<double, double>> points(const svg::Axes& ax, const std::vector<double>& x,
                                                     const std::vector<double>& y) {
  std::vector<std::pair<double, double>> p;
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i)
    if (std::isfinite(x[i]) && std::isfinite(y[i])) p.emplace_back(ax.X(x[i]), ax.Y(y[i]));
  return p;
}
}  // namespace interpret_detail

// fastai's Recorder.plot_loss: the smoothed train loss against the iteration (from skip_start on), and the
// valid loss at the iteration each epoch ended (epochs that ended before skip_start left out).
inline std::string plot_loss_svg(const Recorder& r, const PlotLossOptions& o = {}) {
  check<ValueError>(o.skip_start >= 0, "plot_loss: skip_start must be 0 or more, got ", o.skip_start);
  check<ValueError>(static_cast<std::int64_t>(r.losses.size()) > o.skip_start, "plot_loss: the recorder holds ",
                    r.losses.size(), " training losses, not more than skip_start = ", o.skip_start,
                    " (train first, or lower skip_start)");
  std::vector<double> it, tl;
  for (std::size_t i = static_cast<std::size_t>(o.skip_start); i < r.losses.size(); ++i)
    it.push_back(static_cast<double>(i)), tl.push_back(r.losses[i]);
  std::vector<double> vit, vl;
  if (o.with_valid)
    for (std::size_t e = 0; e < r.values.size() && e < r.iters.size(); ++e)
      if (r.iters[e] >= o.skip_start && r.values[e].size() > 1 && std::isfinite(r.values[e][1]))
        vit.push_back(static_cast<double>(r.iters[e])), vl.push_back(r.values[e][1]);
  std::vector<double> all_y = tl, all_x = it;
  all_y.insert(all_y.end(), vl.begin(), vl.end());
  all_x.insert(all_x.end(), vit.begin(), vit.end());
  svg::Doc d(640, 420);
  const svg::Axes ax(80, 40, 520, 320, svg::data_range(all_x, 0.02), svg::data_range(all_y));
  ax.draw(d, "iteration", "loss", o.title);
  d.polyline(interpret_detail::points(ax, it, tl), svg::colour(0), "train-loss");
  std::vector<svg::LegendEntry> leg{{"train", svg::colour(0), false}};
  if (!vl.empty()) {
    d.polyline(interpret_detail::points(ax, vit, vl), svg::colour(1), "valid-loss");
    for (std::size_t i = 0; i < vl.size(); ++i) d.circle(ax.X(vit[i]), ax.Y(vl[i]), 3.5, svg::colour(1), "valid-point");
    leg.push_back({"valid", svg::colour(1), false});
  }
  svg::legend(d, ax.right() - 8, ax.top() + 8, leg);
  return d.str();
}
inline void plot_loss(const Recorder& r, const std::filesystem::path& file, const PlotLossOptions& o = {}) {
  io::write_file_atomic(file, plot_loss_svg(r, o));
}

// fastai's Recorder.plot_sched: the learning rate and the momentum (of the last parameter group) against
// the iteration, side by side.
inline std::string plot_sched_svg(const Recorder& r) {
  check<ValueError>(!r.lrs.empty(), "plot_sched: the recorder holds no training iteration (train first)");
  std::vector<double> it(r.lrs.size());
  for (std::size_t i = 0; i < it.size(); ++i) it[i] = static_cast<double>(i);
  const svg::Scale xs = svg::data_range(it, 0.02);
  svg::Doc d(900, 380);
  const svg::Axes lr_ax(80, 40, 340, 280, xs, svg::data_range(r.lrs));
  lr_ax.draw(d, "iteration", "learning rate", "lr");
  d.polyline(interpret_detail::points(lr_ax, it, r.lrs), svg::colour(0), "lr");
  const svg::Axes mom_ax(530, 40, 340, 280, xs, svg::data_range(r.moms));
  mom_ax.draw(d, "iteration", "momentum", "mom");
  d.polyline(interpret_detail::points(mom_ax, it, r.moms), svg::colour(1), "mom");
  return d.str();
}
inline void plot_sched(const Recorder& r, const std::filesystem::path& file) {
  io::write_file_atomic(file, plot_sched_svg(r));
}

// lr_find's figure: the smoothed loss against the learning rate on a log axis, with fastai's four
// suggestions marked and listed in the legend (valley is the one fastai returns by default).
inline std::string plot_lr_find_svg(const LrFindResult& r) {
  check<ValueError>(!r.lrs.empty() && r.lrs.size() == r.losses.size(), "plot_lr_find: ", r.lrs.size(), " rates and ",
                    r.losses.size(), " losses (run lr_find first)");
  for (double lr : r.lrs) check<ValueError>(lr > 0 && std::isfinite(lr), "plot_lr_find: learning rate ", lr, " cannot go on a log axis");
  double lo = r.lrs.front(), hi = r.lrs.front();
  for (double lr : r.lrs) lo = std::min(lo, lr), hi = std::max(hi, lr);
  if (hi <= lo) lo /= 2, hi *= 2;
  svg::Doc d(680, 440);
  const svg::Axes ax(80, 40, 560, 330, {lo, hi, true}, svg::data_range(r.losses));
  ax.draw(d, "learning rate (log scale)", "smoothed loss", "lr_find");
  d.polyline(interpret_detail::points(ax, r.lrs, r.losses), svg::colour(0), "lr-find");
  const std::pair<const char*, const LrSuggestion*> marks[] = {
      {"valley", &r.valley}, {"minimum", &r.minimum}, {"steep", &r.steep}, {"slide", &r.slide}};
  std::vector<svg::LegendEntry> leg{{"loss", svg::colour(0), false}};
  for (std::size_t i = 0; i < 4; ++i) {
    const auto& s = *marks[i].second;
    if (!(s.x > 0) || !std::isfinite(s.y)) continue;  // a suggestion the curve could not give
    d.circle(ax.X(s.x), ax.Y(s.y), 5, svg::colour(i + 1), std::string("suggestion ") + marks[i].first);
    char label[96];
    std::snprintf(label, sizeof label, "%s: %.2e", marks[i].first, s.lr);
    leg.push_back({label, svg::colour(i + 1), true});
  }
  svg::legend(d, ax.right() - 8, ax.top() + 8, leg);
  return d.str();
}
inline void plot_lr_find(const LrFindResult& r, const std::filesystem::path& file) {
  io::write_file_atomic(file, plot_lr_find_svg(r));
}

}  // namespace fastpp
