#pragma once
// The training report: one self-contained HTML file that shows a whole run, what a fastai notebook shows
// in its cells. It holds no reference to anything outside itself (every figure is an <img> whose source is
// a data: URI of an SVG), so it can be mailed, archived or opened from a CI artifact.
//
//   auto report = add_html_report(learn, "run.html");   // a callback on every later fit of learn
//   const auto found = learn.lr_find();
//   report->lr_find(found, found.valley.lr);               // the lr_find section, with the rate chosen
//   learn.fine_tune(5, found.valley.lr);                   // run.html rewritten after every epoch
//   report->finish();                                      // the final page (it stops reloading itself)
//
//   write_report(learn, "run.html");                       // or once, from what the recorder holds
//
// Sections (each a <section id=...>): "summary" (the learner, the status), "data" (classes, split sizes,
// a show_batch grid), "lr-find" (plot_lr_find's figure, the suggestions, the rate chosen), "epochs" (the
// epoch table, time and data wait per epoch), "loss" and "schedule" (plot_loss and plot_sched over every
// fit the report saw), "confusion" (the matrix, most_confused, the classification report), "top-losses"
// (the images with their captions, and a table), "machine" (threads, ISA, BLAS, time per epoch).
//
// The file is written atomically (io::write_file_atomic) after each epoch and each fit, so a browser
// pointed at it always reads a whole page; while training it reloads itself every refresh_seconds.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../io/atomic_file.hpp"
#include "../learner/callback.hpp"
#include "../learner/learner_base.hpp"
#include "../learner/progress.hpp"
#include "../learner/recipes.hpp"
#include "../learner/recorder.hpp"
#include "../vision/show_batch.hpp"
#include "classification.hpp"
#include "machine.hpp"
#include "recorder_plots.hpp"
#include "svg.hpp"

namespace fastpp {

struct ReportOptions {
  std::string title = "fastpp training report";
  int show_batch_n = 16;                // images in the data section's grid
  std::int64_t top_losses_k = 9;        // images in the top-losses section
  std::int64_t most_confused_min = 1;   // most_confused(min_val)
  std::size_t most_confused_rows = 20;  // at most this many rows of most_confused
  int refresh_seconds = 30;             // while training the page reloads itself this often; 0: never
  // Redo the confusion matrix and top losses after every epoch (one more pass over the validation set);
  // false: after each fit only.
  bool interpret_each_epoch = true;
};

// One row of the report's epoch table.
struct ReportEpoch {
  int fit = 0;                    // 1 for the first fit the report saw (fine_tune makes two)
  int epoch = 0;                  // within its fit, from 0 as fastai prints it
  std::vector<double> values;     // train_loss, valid_loss, then the metrics
  double seconds = -1;            // < 0: unknown (write_report from a recorder)
  double data_wait_seconds = -1;
};

namespace report_detail {
inline std::string fixed(double v, int dec) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", dec, v);
  return buf;
}
// Every digit of a double, so a reader (or a test) gets the recorded value back exactly.
inline std::string exact(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
inline std::string esc(const std::string& s) { return svg::escape(s); }
// An SVG figure as an <img> with a data: URI: the page stays one file, and the SVG's ids (the confusion
// matrix's gradient) cannot clash with another figure's.
inline std::string figure(const std::string& svg_text, const std::string& alt, const std::string& cls) {
  std::vector<std::uint8_t> bytes(svg_text.begin(), svg_text.end());
  return "<img class=\"" + esc(cls) + "\" alt=\"" + esc(alt) + "\" src=\"data:image/svg+xml;base64," +
         fastpp::detail::base64(bytes) + "\"/>\n";
}
inline std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}
inline const char* style() {
  return "body{font-family:sans-serif;margin:2em;max-width:1400px;color:#222}"
         "h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-top:.6em}"
         "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
         "th{background:#f0f4fa}td.name{text-align:left}pre{background:#f7f7f7;padding:.6em}"
         "img{max-width:100%;margin:.4em .4em .4em 0;vertical-align:top}.note{color:#666}"
         "dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px}dt{font-weight:bold}dd{margin:0}";
}
}  // namespace report_detail

class HtmlReport final : public Callback {
 public:
  // The report of `learn`, written to `file`. It keeps a pointer to the learner (for get_preds, which
  // the confusion matrix and top losses need), so the learner must stay where it is while the report
  // is used: make the report after the learner has its final place, not before a move.
  template <class LearnerT>
  HtmlReport(LearnerT& learn, std::filesystem::path file, ReportOptions o = {})
      : file_(std::move(file)), o_(std::move(o)), machine_(machine_info()) {
    static_assert(std::is_base_of_v<LearnerBase, LearnerT>, "HtmlReport needs a Learner (learner/learner.hpp)");
    check<ValueError>(!file_.empty(), "HtmlReport: no file to write the report to");
    check<ValueError>(o_.show_batch_n >= 0 && o_.top_losses_k >= 0 && o_.refresh_seconds >= 0, "HtmlReport: "
                      "show_batch_n, top_losses_k and refresh_seconds must be 0 or more, got ", o_.show_batch_n, ", ",
                      o_.top_losses_k, ", ", o_.refresh_seconds);
    arch_ = learn.arch();
    device_ = std::string(device_name<typename LearnerT::device_type>);
    using V = typename LearnerT::value_type;
    if constexpr (std::is_same_v<V, float>) precision_ = learn.is_fp16() ? "mixed (fp16, emulated)" : "float32";
    else precision_ = std::string(std::is_same_v<V, half> ? "half" : "bfloat16") + " activations, float32 weights" +
                      (learn.is_fp16() ? ", loss scaling" : "");
    auto& dls = learn.dls();
    vocab_.assign(dls.vocab.begin(), dls.vocab.end());
    n_train_ = dls.train.n_items(), n_valid_ = dls.valid.n_items(), bs_ = dls.train.bs();
    n_train_batches_ = dls.train.n_batches();
    columns_ = learn.recorder().columns();
    using Loader = typename LearnerT::loader_type;
    if constexpr (std::is_same_v<typename Loader::x_batch, Tensor<float, cpu>>) {
      if (o_.show_batch_n > 0 && dls.train.n_batches() > 0) {
        const auto b = dls.one_batch();
        const std::int64_t n = std::min<std::int64_t>(b.x.size(0), o_.show_batch_n);
        auto captions = dls.labels(b);
        captions.resize(static_cast<std::size_t>(n));
        show_batch_svg_ = show_batch_svg(float_to_uint8(dls.train.decode(b.x).slice(0, n)), captions,
                                         {.max_n = static_cast<int>(n)});
      }
    }
    if constexpr (std::is_same_v<typename LearnerT::y_batch, Tensor<std::int64_t, cpu>>)
      interpret_ = [&learn]() { return ClassificationInterpretation::from_learner(learn); };
  }

  std::string name() const override { return "HtmlReport"; }
  // After the Recorder (50) and the schedulers (60): it copies what they set for the batch.
  int order() const override { return 90; }

  // The lr_find section: the sweep, its suggestions and the rate the run went on with.
  void lr_find(const LrFindResult& r, double chosen_lr) {
    lr_find_ = r;
    chosen_lr_ = chosen_lr;
    write();
  }
  // The final page: interpretation redone if the last fit left it stale, no reload.
  void finish() {
    finished_ = true;
    if (stale_interp_) refresh_interpretation();
    write();
  }

  void before_fit(LearnerBase& learn) override {
    columns_ = learn.recorder().columns();
    fit_marks_ = {history_.lrs.size(), history_.moms.size(), history_.losses.size()};
    validated_in_fit_ = false;
    running_ = true;
  }
  void after_batch(LearnerBase& learn) override {
    if (!learn.state.training) return;
    const Recorder& r = learn.recorder();
    if (!r.losses.empty()) history_.losses.push_back(r.losses.back());
    if (!r.lrs.empty()) history_.lrs.push_back(r.lrs.back());
    if (!r.moms.empty()) history_.moms.push_back(r.moms.back());
  }
  void after_epoch(LearnerBase& learn) override {
    // An epoch without validation (lr_find's sweep never validates) is not a row of the table.
    if (learn.state.epoch_values.size() < 2) return;
    if (!validated_in_fit_) ++fits_;
    validated_in_fit_ = true;
    epochs_.push_back({fits_, learn.state.epoch, learn.state.epoch_values, learn.state.epoch_seconds,
                       learn.state.data_wait_seconds});
    history_.values.push_back(learn.state.epoch_values);
    history_.iters.push_back(static_cast<std::int64_t>(history_.losses.size()));
    n_epoch_ = learn.state.n_epoch;
    stale_interp_ = true;
    if (o_.interpret_each_epoch) refresh_interpretation();
    write();
  }
  void after_fit(LearnerBase&) override {
    running_ = false;
    if (!validated_in_fit_) {
      // lr_find's sweep (or a fit cancelled before it validated): its batches are not the run's training.
      history_.lrs.resize(fit_marks_[0]), history_.moms.resize(fit_marks_[1]), history_.losses.resize(fit_marks_[2]);
      write();
      return;
    }
    if (stale_interp_) refresh_interpretation();
    write();
  }

  // The page as it stands, and writing it (atomically: a reader sees the old page or the new one).
  std::string html() const;
  void write() const { io::write_file_atomic(file_, html()); }

  const std::filesystem::path& file() const { return file_; }
  const std::vector<ReportEpoch>& epochs() const { return epochs_; }
  // Every training batch and validated epoch of the fits the report saw, in one Recorder (its iters
  // count from the first fit on), which the loss and schedule plots draw.
  const Recorder& history() const { return history_; }

  // write_report's way in: the epochs and batches a recorder holds, as if the report had seen them.
  void take_recorder(const Recorder& r) {
    history_.lrs = r.lrs, history_.moms = r.moms, history_.losses = r.losses;
    history_.values.clear(), history_.iters.clear(), epochs_.clear();
    fits_ = 1;
    for (std::size_t e = 0; e < r.values.size(); ++e) {
      if (r.values[e].size() < 2) continue;
      epochs_.push_back({1, static_cast<int>(e), r.values[e], -1, -1});
      history_.values.push_back(r.values[e]);
      history_.iters.push_back(e < r.iters.size() ? r.iters[e] : static_cast<std::int64_t>(r.losses.size()));
    }
    n_epoch_ = static_cast<int>(epochs_.size());
    stale_interp_ = !epochs_.empty();
  }

 private:
  void refresh_interpretation();
  std::string summary_section() const;
  std::string data_section() const;
  std::string lr_find_section() const;
  std::string epochs_section() const;
  std::string plots_section() const;
  std::string machine_section() const;

  std::filesystem::path file_;
  ReportOptions o_;
  MachineInfo machine_;
  std::function<ClassificationInterpretation()> interpret_;
  std::string arch_, device_, precision_;
  std::vector<std::string> vocab_, columns_;
  std::int64_t n_train_ = 0, n_valid_ = 0, bs_ = 0, n_train_batches_ = 0;
  std::string show_batch_svg_;
  std::optional<LrFindResult> lr_find_;
  double chosen_lr_ = 0;
  Recorder history_;
  std::vector<ReportEpoch> epochs_;
  std::array<std::size_t, 3> fit_marks_{};
  int fits_ = 0, n_epoch_ = 0;
  bool validated_in_fit_ = false, running_ = false, finished_ = false, stale_interp_ = false;
  std::string interp_html_, top_losses_html_;  // the interpretation's sections, redone by refresh_interpretation
};

// ---- definitions ---------------------------------------------------------------------------------------

inline void HtmlReport::refresh_interpretation() {
  stale_interp_ = false;
  if (!interpret_) {
    interp_html_ = "<p class=\"note\">No confusion matrix: the targets are not single labels.</p>\n";
    top_losses_html_.clear();
    return;
  }
  using report_detail::esc;
  using report_detail::fixed;
  const auto interp = interpret_();
  std::string s = report_detail::figure(interp.confusion_matrix_svg(), "confusion matrix", "figure confusion-matrix");
  s += "<h3>Most confused</h3>\n<table id=\"most-confused-table\">\n<tr><th>actual</th><th>predicted</th><th>count</th></tr>\n";
  const auto mc = interp.most_confused(o_.most_confused_min);
  for (std::size_t i = 0; i < mc.size() && i < o_.most_confused_rows; ++i)
    s += "<tr><td class=\"name\">" + esc(mc[i].actual) + "</td><td class=\"name\">" + esc(mc[i].predicted) + "</td><td>" +
         std::to_string(mc[i].count) + "</td></tr>\n";
  s += "</table>\n";
  if (mc.empty()) s += "<p class=\"note\">No pair of classes confused " + std::to_string(o_.most_confused_min) + " times or more.</p>\n";
  s += "<h3>Classification report</h3>\n<pre id=\"classification-report\">" + esc(interp.classification_report()) + "</pre>\n";
  interp_html_ = s;

  std::string t;
  const std::int64_t k = std::min<std::int64_t>(o_.top_losses_k, interp.n_rows());
  if (k > 0) {
    if (interp.has_images()) t += report_detail::figure(interp.top_losses_svg(k), "top losses", "figure top-losses");
    t += "<table id=\"top-losses-table\">\n<tr><th>rank</th><th>predicted</th><th>actual</th><th>loss</th>"
         "<th>probability</th><th>dataset index</th></tr>\n";
    const auto top = interp.top_losses(k);
    for (std::size_t i = 0; i < top.size(); ++i)
      t += "<tr><td>" + std::to_string(i) + "</td><td class=\"name\">" + esc(top[i].predicted_label) +
           "</td><td class=\"name\">" + esc(top[i].actual_label) + "</td><td>" + fixed(top[i].loss, 4) + "</td><td>" +
           fixed(top[i].probability, 4) + "</td><td>" + std::to_string(top[i].index) + "</td></tr>\n";
    t += "</table>\n";
  }
  top_losses_html_ = t;
}

inline std::string HtmlReport::summary_section() const {
  using report_detail::esc;
  std::string status;
  if (finished_) status = "finished";
  else if (running_) status = "training: fit " + std::to_string(std::max(fits_, 1)) + ", epoch " +
                              std::to_string(epochs_.empty() ? 0 : epochs_.back().epoch + 1) + " of " + std::to_string(n_epoch_) + " done";
  else status = epochs_.empty() ? "not trained yet" : "between fits";
  std::string s = "<section id=\"summary\">\n<h1>" + esc(o_.title) + "</h1>\n<dl>\n";
  s += "<dt>status</dt><dd id=\"status\">" + esc(status) + "</dd>\n";
  s += "<dt>written</dt><dd>" + report_detail::utc_now() + "</dd>\n";
  s += "<dt>model</dt><dd>" + esc(arch_) + " on " + esc(device_) + ", " + esc(precision_) + "</dd>\n";
  s += "<dt>epochs</dt><dd>" + std::to_string(epochs_.size()) + " in " + std::to_string(fits_) + " fit" + (fits_ == 1 ? "" : "s") + "</dd>\n";
  if (!epochs_.empty()) {
    const auto& last = epochs_.back().values;
    for (std::size_t c = 1; c < last.size() && c < columns_.size(); ++c)
      s += "<dt>" + esc(columns_[c]) + "</dt><dd>" + report_detail::fixed(last[c], 6) + " (last epoch)</dd>\n";
  }
  if (!finished_ && o_.refresh_seconds > 0)
    s += "<dt>reload</dt><dd class=\"note\">this page reloads itself every " + std::to_string(o_.refresh_seconds) +
         " s until the run finishes</dd>\n";
  return s + "</dl>\n</section>\n";
}

inline std::string HtmlReport::data_section() const {
  using report_detail::esc;
  std::string s = "<section id=\"data\">\n<h2>Data</h2>\n<dl>\n";
  s += "<dt>classes</dt><dd id=\"n-classes\">" + std::to_string(vocab_.size()) + "</dd>\n";
  s += "<dt>training items</dt><dd id=\"n-train\">" + std::to_string(n_train_) + "</dd>\n";
  s += "<dt>validation items</dt><dd id=\"n-valid\">" + std::to_string(n_valid_) + "</dd>\n";
  s += "<dt>batch size</dt><dd>" + std::to_string(bs_) + " (" + std::to_string(n_train_batches_) + " training batches an epoch)</dd>\n";
  std::string names;
  for (std::size_t i = 0; i < vocab_.size(); ++i) names += (i ? ", " : "") + esc(vocab_[i]);
  s += "<dt>vocab</dt><dd id=\"vocab\">" + names + "</dd>\n</dl>\n";
  if (!show_batch_svg_.empty()) s += "<h3>A training batch (show_batch)</h3>\n" + report_detail::figure(show_batch_svg_, "show_batch", "figure show-batch");
  return s + "</section>\n";
}

inline std::string HtmlReport::lr_find_section() const {
  std::string s = "<section id=\"lr-find\">\n<h2>Learning rate finder</h2>\n";
  if (!lr_find_) return s + "<p class=\"note\">lr_find was not run (or not given to the report).</p>\n</section>\n";
  s += report_detail::figure(plot_lr_find_svg(*lr_find_), "lr_find", "figure lr-find");
  s += "<table id=\"lr-find-table\">\n<tr><th>suggestion</th><th>learning rate</th></tr>\n";
  const std::pair<const char*, const LrSuggestion*> marks[] = {
      {"valley", &lr_find_->valley}, {"minimum", &lr_find_->minimum}, {"steep", &lr_find_->steep}, {"slide", &lr_find_->slide}};
  char buf[64];
  for (const auto& [name, sug] : marks) {
    std::snprintf(buf, sizeof buf, "%.3e", sug->lr);
    s += std::string("<tr><td class=\"name\">") + name + "</td><td>" + buf + "</td></tr>\n";
  }
  std::snprintf(buf, sizeof buf, "%.3e", chosen_lr_);
  s += std::string("</table>\n<p>chosen learning rate: <b id=\"chosen-lr\" data-value=\"") + report_detail::exact(chosen_lr_) +
       "\">" + buf + "</b></p>\n";
  return s + "</section>\n";
}

inline std::string HtmlReport::epochs_section() const {
  using report_detail::esc;
  std::string s = "<section id=\"epochs\">\n<h2>Epochs</h2>\n<table id=\"epoch-table\">\n<tr><th>fit</th><th>epoch</th>";
  for (const auto& c : columns_) s += "<th>" + esc(c) + "</th>";
  s += "<th>time</th><th>data wait (s)</th></tr>\n";
  for (const auto& e : epochs_) {
    s += "<tr class=\"epoch\"><td>" + std::to_string(e.fit) + "</td><td>" + std::to_string(e.epoch) + "</td>";
    for (std::size_t c = 0; c < e.values.size(); ++c)
      s += "<td class=\"value\" data-column=\"" + esc(c < columns_.size() ? columns_[c] : "value " + std::to_string(c)) +
           "\" data-value=\"" + report_detail::exact(e.values[c]) + "\">" + progress_detail::format_value(e.values[c]) + "</td>";
    if (e.seconds >= 0)
      s += "<td data-seconds=\"" + report_detail::exact(e.seconds) + "\">" + progress_detail::format_time(e.seconds) + "</td><td>" +
           report_detail::fixed(e.data_wait_seconds, 3) + "</td>";
    else
      s += "<td>-</td><td>-</td>";
    s += "</tr>\n";
  }
  s += "</table>\n";
  if (epochs_.empty()) s += "<p class=\"note\">No epoch finished yet.</p>\n";
  return s + "</section>\n";
}

inline std::string HtmlReport::plots_section() const {
  std::string s = "<section id=\"loss\">\n<h2>Loss</h2>\n";
  if (history_.losses.size() >= 2) {
    PlotLossOptions po;
    po.skip_start = std::min<std::int64_t>(5, static_cast<std::int64_t>(history_.losses.size()) - 1);
    po.title = "Loss (every fit the report saw)";
    s += report_detail::figure(plot_loss_svg(history_, po), "loss", "figure loss");
  } else {
    s += "<p class=\"note\">Not enough training batches recorded yet.</p>\n";
  }
  s += "</section>\n<section id=\"schedule\">\n<h2>Schedule</h2>\n";
  if (!history_.lrs.empty()) s += report_detail::figure(plot_sched_svg(history_), "schedule", "figure schedule");
  else s += "<p class=\"note\">No training batch recorded yet.</p>\n";
  s += "</section>\n<section id=\"confusion\">\n<h2>Confusion matrix</h2>\n";
  s += interp_html_.empty() ? "<p class=\"note\">Written after the first epoch.</p>\n" : interp_html_;
  s += "</section>\n<section id=\"top-losses\">\n<h2>Top losses</h2>\n";
  s += top_losses_html_.empty() ? "<p class=\"note\">Written after the first epoch.</p>\n" : top_losses_html_;
  return s + "</section>\n";
}

inline std::string HtmlReport::machine_section() const {
  using report_detail::esc;
  std::string s = "<section id=\"machine\">\n<h2>Machine</h2>\n<dl>\n";
  s += "<dt>threads</dt><dd id=\"threads\">" + std::to_string(machine_.threads) + "</dd>\n";
  s += "<dt>CPU</dt><dd>" + esc(machine_.cpu) + "</dd>\n";
  s += "<dt>compiled for</dt><dd id=\"isa\">" + esc(machine_.isa_compiled) + "</dd>\n";
  s += "<dt>CPU has</dt><dd>" + esc(machine_.isa_cpu) + "</dd>\n";
  s += "<dt>BLAS</dt><dd id=\"blas\">" + esc(machine_.blas) + "</dd>\n";
  s += "<dt>compiler</dt><dd>" + esc(machine_.compiler) + "</dd>\n";
  double total = 0, wait = 0;
  int timed = 0;
  for (const auto& e : epochs_)
    if (e.seconds >= 0) total += e.seconds, wait += e.data_wait_seconds, ++timed;
  if (timed > 0)
    s += "<dt>time per epoch</dt><dd id=\"time-per-epoch\">" + report_detail::fixed(total / timed, 2) + " s on average over " +
         std::to_string(timed) + " epoch" + (timed == 1 ? "" : "s") + " (" + report_detail::fixed(total, 1) + " s in all; " +
         report_detail::fixed(total > 0 ? 100 * wait / total : 0, 1) + "% of it waiting for data)</dd>\n";
  return s + "</dl>\n</section>\n";
}

inline std::string HtmlReport::html() const {
  std::string s = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n";
  if (!finished_ && running_ && o_.refresh_seconds > 0)
    s += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(o_.refresh_seconds) + "\"/>\n";
  s += "<title>" + report_detail::esc(o_.title) + "</title>\n<style>" + report_detail::style() + "</style>\n</head>\n<body>\n";
  s += summary_section() + data_section() + lr_find_section() + epochs_section() + plots_section() + machine_section();
  return s + "</body>\n</html>\n";
}

// ---- the user's calls ----------------------------------------------------------------------------------

// A report on every later fit of `learn`, rewritten to `file` after each epoch (learn.add_cb of an
// HtmlReport). Keep the pointer to give it lr_find's result and to finish() it.
template <class LearnerT>
std::shared_ptr<HtmlReport> add_html_report(LearnerT& learn, const std::filesystem::path& file, ReportOptions o = {}) {
  auto r = std::make_shared<HtmlReport>(learn, file, std::move(o));
  learn.add_cb(r);
  r->write();
  return r;
}

// The report, once, from what the learner's recorder holds (the last fit's epochs, without their times),
// with lr_find's section when a result is given.
template <class LearnerT>
void write_report(LearnerT& learn, const std::filesystem::path& file, const std::optional<LrFindResult>& lr_find = {},
                  double chosen_lr = 0, ReportOptions o = {}) {
  HtmlReport r(learn, file, std::move(o));
  r.take_recorder(learn.recorder());
  if (lr_find) r.lr_find(*lr_find, chosen_lr);
  r.finish();
}

}  // namespace fastpp
