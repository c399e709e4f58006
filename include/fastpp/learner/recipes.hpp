#pragma once
// fastai's recipes over LearnerBase: the Recorder's bookkeeping, the hyperparameter schedulers
// (ParamScheduler, LRFinder), fit_one_cycle, fine_tune and lr_find. Nothing here depends on the model,
// loss or data types, so it is compiled once whatever the learner.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <vector>

#include "learner_base.hpp"
#include "progress.hpp"

namespace fastpp {

// ---- Recorder ------------------------------------------------------------------------------------------
inline void Recorder::before_fit(LearnerBase&) {
  lrs.clear(), moms.clear(), losses.clear(), values.clear(), iters.clear();
  smooth.reset();
}
inline void Recorder::after_batch(LearnerBase& learn) {
  if (!learn.state.training) return;
  learn.state.smooth_loss = smooth.add(learn.state.loss);
  const auto& h = learn.hypers().back();
  lrs.push_back(h.lr);
  moms.push_back(h.mom);
  losses.push_back(learn.state.smooth_loss);
}
inline void Recorder::after_epoch(LearnerBase& learn) {
  values.push_back(learn.state.epoch_values);
  iters.push_back(static_cast<std::int64_t>(losses.size()));
}

// ---- schedulers ----------------------------------------------------------------------------------------

// Sets each group's lr and mom from schedules of the fit's position before every training batch
// (fastai's ParamScheduler). One lr schedule per group (discriminative rates), one mom schedule for all.
class ParamScheduler final : public Callback {
 public:
  ParamScheduler(std::vector<sched::Schedule> lr, std::optional<sched::Schedule> mom)
      : lr_(std::move(lr)), mom_(std::move(mom)) {}
  std::string name() const override { return "ParamScheduler"; }
  int order() const override { return 60; }
  void before_batch(LearnerBase& learn) override {
    if (!learn.state.training) return;
    auto& h = learn.hypers();
    check<ValueError>(lr_.size() == h.size(), "ParamScheduler: ", lr_.size(), " lr schedules for ", h.size(), " groups");
    for (std::size_t g = 0; g < h.size(); ++g) {
      h[g].lr = lr_[g](learn.state.pct_train);
      if (mom_) h[g].mom = (*mom_)(learn.state.pct_train);
    }
  }

 private:
  std::vector<sched::Schedule> lr_;
  std::optional<sched::Schedule> mom_;
};

// lr_find's sweep (fastai's LRFinder): the same exponentially growing lr on every group, stopping after
// num_it batches or when the smoothed loss passes 4x its best; no validation; the model and optimizer
// are restored from a checkpoint when it ends.
class LRFinder final : public Callback {
 public:
  LRFinder(const LrFindOptions& o) : o_(o) { o_.num_it = std::max(o_.num_it, 6); }
  std::string name() const override { return "LRFinder"; }
  int order() const override { return 60; }
  void before_fit(LearnerBase& learn) override {
    saved_ = learn.save(tmp_name);
    best_ = std::numeric_limits<double>::infinity();
  }
  void before_batch(LearnerBase& learn) override {
    if (!learn.state.training) return;
    const double pos = static_cast<double>(learn.state.train_iter) / o_.num_it;
    for (auto& h : learn.hypers()) h.lr = sched::exp(o_.start_lr, o_.end_lr, pos);
  }
  void after_batch(LearnerBase& learn) override {
    if (!learn.state.training) return;
    const double s = learn.state.smooth_loss;
    if (s < best_) best_ = s;
    if ((o_.stop_div && (s > 4 * best_ || std::isnan(s))) || learn.state.train_iter >= o_.num_it) throw CancelFit{};
  }
  void before_validate(LearnerBase&) override { throw CancelValid{}; }
  void after_fit(LearnerBase& learn) override {
    if (saved_.empty()) return;
    // The checkpoint restores the model and optimizer; the sweep's recordings are what lr_find reads.
    Recorder& r = learn.recorder();
    auto lrs = r.lrs, moms = r.moms, losses = r.losses;
    learn.load(tmp_name);
    r.lrs = std::move(lrs), r.moms = std::move(moms), r.losses = std::move(losses);
    std::error_code ec;
    std::filesystem::remove(saved_, ec);
  }
  static constexpr const char* tmp_name = "_lr_find_tmp";

 private:
  LrFindOptions o_;
  double best_ = 0.0;
  std::filesystem::path saved_;
};

// ---- the recipes ----------------------------------------------------------------------------------------

inline std::vector<CallbackPtr> LearnerBase::fit_callbacks(const std::vector<CallbackPtr>& extra) const {
  std::vector<CallbackPtr> all{recorder_};
  if (logging_ && opts_.progress == Progress::table && is_main_process()) all.push_back(std::make_shared<ProgressCallback>(opts_.out));
  all.insert(all.end(), opts_.cbs.begin(), opts_.cbs.end());
  all.insert(all.end(), extra.begin(), extra.end());
  std::stable_sort(all.begin(), all.end(), [](const CallbackPtr& a, const CallbackPtr& b) { return a->order() < b->order(); });
  return all;
}

inline void LearnerBase::fit_one_cycle(int n_epoch, const LrSpec& lr_max, const OneCycleOptions& o) {
  auto& h = hypers();
  const std::vector<double> maxes = lr_max.per_group(static_cast<int>(h.size()));
  sched::OneCycle cycle;
  cycle.div = o.div, cycle.div_final = o.div_final, cycle.pct_start = o.pct_start;
  cycle.moms = o.moms ? *o.moms : opts_.moms;
  std::vector<sched::Schedule> lrs;
  for (double m : maxes) lrs.push_back(sched::one_cycle_lr(m, cycle));
  FitOptions fo;
  fo.wd = o.wd;
  fo.reset_opt = o.reset_opt;
  fo.start_epoch = o.start_epoch;
  fo.cbs = o.cbs;
  fo.cbs.insert(fo.cbs.begin(), std::make_shared<ParamScheduler>(std::move(lrs), sched::one_cycle_mom(cycle)));
  fit(n_epoch, LrSpec(maxes), fo);
}

inline void LearnerBase::fine_tune(int epochs, double base_lr, const FineTuneOptions& o) {
  freeze();
  OneCycleOptions frozen;
  frozen.pct_start = 0.99;
  frozen.wd = o.wd;
  frozen.cbs = o.cbs;
  fit_one_cycle(o.freeze_epochs, LrSpec::slice(base_lr), frozen);
  base_lr /= 2;
  unfreeze();
  OneCycleOptions thawed;
  thawed.pct_start = o.pct_start;
  thawed.div = o.div;
  thawed.wd = o.wd;
  thawed.cbs = o.cbs;
  fit_one_cycle(epochs, LrSpec::slice(base_lr / o.lr_mult, base_lr), thawed);
}

namespace learner_detail {
// The loss-against-lr plot (log x axis) with the suggestions marked, as a standalone SVG.
inline void write_lr_find_svg(const std::filesystem::path& file, const LrFindResult& r) {
  const double w = 640, hgt = 400, m = 50;
  double lo = r.losses.front(), hi = r.losses.front();
  for (double v : r.losses) lo = std::min(lo, v), hi = std::max(hi, v);
  if (hi <= lo) hi = lo + 1;
  const double x0 = std::log10(r.lrs.front()), x1 = std::log10(r.lrs.back());
  auto X = [&](double lr) { return m + (std::log10(lr) - x0) / (x1 - x0 == 0 ? 1 : x1 - x0) * (w - 2 * m); };
  auto Y = [&](double l) { return hgt - m - (l - lo) / (hi - lo) * (hgt - 2 * m); };
  std::ofstream out(file);
  if (!out.good()) throw IoError(file.string(), "lr_find: cannot write the plot");
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << hgt << "\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<polyline fill=\"none\" stroke=\"#1f77b4\" points=\"";
  for (std::size_t i = 0; i < r.lrs.size(); ++i) out << X(r.lrs[i]) << ',' << Y(r.losses[i]) << ' ';
  out << "\"/>\n";
  const std::pair<const char*, const LrSuggestion*> marks[] = {
      {"valley", &r.valley}, {"minimum", &r.minimum}, {"steep", &r.steep}, {"slide", &r.slide}};
  const char* colours[] = {"#ff7f0e", "#2ca02c", "#d62728", "#9467bd"};
  for (int i = 0; i < 4; ++i) {
    char label[96];
    std::snprintf(label, sizeof label, "%s: %.2e", marks[i].first, marks[i].second->lr);
    out << "<circle cx=\"" << X(marks[i].second->x) << "\" cy=\"" << Y(marks[i].second->y) << "\" r=\"5\" fill=\""
        << colours[i] << "\"/>\n<text x=\"" << w - m - 150 << "\" y=\"" << m + 18 * i << "\" fill=\"" << colours[i]
        << "\" font-family=\"sans-serif\" font-size=\"13\">" << label << "</text>\n";
  }
  out << "<text x=\"" << w / 2 << "\" y=\"" << hgt - 12 << "\" font-family=\"sans-serif\" font-size=\"13\" "
      << "text-anchor=\"middle\">learning rate (log scale)</text>\n<text x=\"14\" y=\"" << hgt / 2
      << "\" font-family=\"sans-serif\" font-size=\"13\" transform=\"rotate(-90 14 " << hgt / 2
      << ")\" text-anchor=\"middle\">smoothed loss</text>\n</svg>\n";
  if (!out.good()) throw IoError(file.string(), "lr_find: writing the plot failed");
}
}  // namespace learner_detail

inline LrFindResult LearnerBase::lr_find(const LrFindOptions& o) {
  check<ValueError>(o.start_lr > 0 && o.end_lr > o.start_lr, "lr_find: need 0 < start_lr < end_lr, got ", o.start_lr,
                    " and ", o.end_lr);
  const int num_it = std::max(o.num_it, 6);
  const std::int64_t per_epoch = n_train_batches();
  const int n_epoch = static_cast<int>(num_it / per_epoch + 1);
  FitOptions fo;
  fo.cbs.push_back(std::make_shared<LRFinder>(o));
  const bool was_logging = logging_;
  logging_ = false;
  try {
    fit(n_epoch, o.start_lr, fo);
  } catch (...) {
    logging_ = was_logging;
    throw;
  }
  logging_ = was_logging;
  LrFindResult r;
  const auto window = lr_find_window(recorder_->lrs, recorder_->losses, num_it);
  r.lrs = window.lrs, r.losses = window.losses;
  r.valley = valley(r.lrs, r.losses);
  r.minimum = minimum(r.lrs, r.losses);
  r.steep = steep(r.lrs, r.losses);
  r.slide = slide(r.lrs, r.losses);
  if (!o.plot.empty()) learner_detail::write_lr_find_svg(o.plot, r);
  return r;
}

}  // namespace fastpp
