#pragma once
// fastai's progress output (fastprogress's console form). The epoch table:
//   epoch     train_loss  valid_loss  error_rate  time
//   0         1.555198    0.338130    0.105548    00:30
// names padded to 8 characters and joined by two spaces, each cell padded to its column's width + 2,
// floats with 6 decimals, time as mm:ss (h:mm:ss past an hour). While a terminal is attached, a live
// bar per pass is redrawn in place:  Epoch 1/3 : |████------| 45.65% [42/92 00:12<00:14 1.2345]
// (elapsed<remaining, then the smoothed loss); when output goes to a file or pipe, only the table.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "learner_base.hpp"

namespace fastpp {

namespace progress_detail {
inline std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}
inline std::string format_time(double seconds) {
  const auto t = static_cast<long>(seconds < 0 ? 0 : seconds);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%02ld:%02ld", t / 60, t % 60);
  return buf;
}
inline std::string format_value(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}
}  // namespace progress_detail

// The header line for these column names (epoch, the values, time).
inline std::string progress_header(const std::vector<std::string>& names) {
  std::string line;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) line += "  ";
    line += progress_detail::pad(names[i], 8);
  }
  return line;
}
// One row: cells padded to their column's width + 2.
inline std::string progress_row(const std::vector<std::string>& names, int epoch, const std::vector<double>& values,
                                double seconds) {
  std::vector<std::string> cells{std::to_string(epoch)};
  for (double v : values) cells.push_back(progress_detail::format_value(v));
  cells.push_back(progress_detail::format_time(seconds));
  std::string line;
  for (std::size_t i = 0; i < cells.size() && i < names.size(); ++i)
    line += progress_detail::pad(cells[i], std::max<std::size_t>(names[i].size(), 8) + 2);
  return line;
}

class ProgressCallback final : public Callback {
 public:
  explicit ProgressCallback(std::ostream* out = nullptr) : out_(out ? out : &std::cout) {
    live_ = out_ == &std::cout && ::isatty(STDOUT_FILENO);
  }
  std::string name() const override { return "ProgressCallback"; }
  int order() const override { return 60; }

  void before_fit(LearnerBase& learn) override {
    names_ = {"epoch"};
    for (const auto& c : learn.recorder().columns()) names_.push_back(c);
    names_.push_back("time");
    *out_ << progress_header(names_) << '\n' << std::flush;
  }
  void before_train(LearnerBase& learn) override { start_pass(learn); }
  void before_validate(LearnerBase& learn) override { start_pass(learn); }
  void after_batch(LearnerBase& learn) override {
    if (!live_) return;
    const auto now = std::chrono::steady_clock::now();
    const bool last = learn.state.iter + 1 >= learn.state.n_iter;
    if (!last && now - last_draw_ < std::chrono::milliseconds(200)) return;
    last_draw_ = now;
    const double done = static_cast<double>(learn.state.iter + 1);
    const double total = static_cast<double>(std::max<std::int64_t>(1, learn.state.n_iter));
    const double elapsed = std::chrono::duration<double>(now - pass_start_).count();
    const double remaining = elapsed / done * (total - done);
    const int width = 40, filled = static_cast<int>(width * done / total);
    std::ostringstream bar;
    bar << "\r" << (learn.state.training ? "Epoch " : "Valid ") << learn.state.epoch + 1 << "/" << learn.state.n_epoch
        << " : |";
    for (int i = 0; i < width; ++i) bar << (i < filled ? "\u2588" : "-");
    bar << "| " << std::fixed << std::setprecision(2) << 100.0 * done / total << "% [" << learn.state.iter + 1 << "/"
        << learn.state.n_iter << " " << progress_detail::format_time(elapsed) << "<"
        << progress_detail::format_time(remaining) << " " << std::setprecision(4) << learn.state.smooth_loss << "]";
    *out_ << bar.str() << std::flush;
  }
  void after_epoch(LearnerBase& learn) override {
    if (live_) *out_ << "\r\033[K";
    *out_ << progress_row(names_, learn.state.epoch, learn.state.epoch_values, learn.state.epoch_seconds) << '\n'
          << std::flush;
  }
  void after_fit(LearnerBase&) override {
    if (live_) *out_ << "\r\033[K" << std::flush;
  }

 private:
  void start_pass(LearnerBase&) { pass_start_ = last_draw_ = std::chrono::steady_clock::now(); }
  std::ostream* out_;
  bool live_ = false;
  std::vector<std::string> names_;
  std::chrono::steady_clock::time_point pass_start_, last_draw_;
};

}  // namespace fastpp
