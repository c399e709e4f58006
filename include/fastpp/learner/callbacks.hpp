#pragma once
// The callbacks a user adds by hand (fastai's CSVLogger, SaveModelCallback, EarlyStoppingCallback).
// Each watches the epoch table: "train_loss", "valid_loss" or a metric's name.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "learner_base.hpp"

namespace fastpp {

namespace callback_detail {
// The value of column `monitor` in the epoch just finished; a clear error when there is no such column.
inline double monitored(LearnerBase& learn, const std::string& who, const std::string& monitor) {
  const auto cols = learn.recorder().columns();
  for (std::size_t i = 0; i < cols.size() && i < learn.state.epoch_values.size(); ++i)
    if (cols[i] == monitor) return learn.state.epoch_values[i];
  std::string known;
  for (const auto& c : cols) known += " " + c;
  throw ValueError(who + ": no column \"" + monitor + "\" to monitor; the table has:" + known);
}
// fastai's TrackerCallback: lower is better for losses and errors, higher for everything else.
inline bool lower_is_better(const std::string& monitor) {
  return monitor.find("loss") != std::string::npos || monitor.find("error") != std::string::npos;
}
}  // namespace callback_detail

// Writes the epoch table to a CSV file (epoch, the columns, time), one line per epoch, flushed as it goes.
class CSVLogger final : public Callback {
 public:
  explicit CSVLogger(std::filesystem::path file = "history.csv", bool append = false)
      : file_(std::move(file)), append_(append) {}
  std::string name() const override { return "CSVLogger"; }
  int order() const override { return 60; }
  void before_fit(LearnerBase& learn) override {
    const bool header = !append_ || !std::filesystem::exists(file_);
    out_.open(file_, append_ ? std::ios::app : std::ios::trunc);
    if (!out_.good()) throw IoError(file_.string(), "CSVLogger: cannot open the file for writing");
    if (header) {
      out_ << "epoch";
      for (const auto& c : learn.recorder().columns()) out_ << ',' << c;
      out_ << ",time\n" << std::flush;
    }
  }
  void after_epoch(LearnerBase& learn) override {
    out_ << learn.state.epoch;
    for (double v : learn.state.epoch_values) out_ << ',' << v;
    out_ << ',' << learn.state.epoch_seconds << '\n' << std::flush;
    if (!out_.good()) throw IoError(file_.string(), "CSVLogger: writing failed");
  }
  void after_fit(LearnerBase&) override { out_.close(); }

 private:
  std::filesystem::path file_;
  bool append_;
  std::ofstream out_;
};

// Saves a checkpoint whenever the monitored value improves (or every epoch as name_<epoch>), and loads
// the best one back when the fit ends, as fastai's SaveModelCallback does.
class SaveModelCallback final : public Callback {
 public:
  explicit SaveModelCallback(std::string monitor = "valid_loss", std::string fname = "model", bool every_epoch = false,
                             double min_delta = 0.0)
      : monitor_(std::move(monitor)), fname_(std::move(fname)), every_epoch_(every_epoch), min_delta_(min_delta) {}
  std::string name() const override { return "SaveModelCallback"; }
  int order() const override { return 61; }  // after the progress table has shown the epoch
  void before_fit(LearnerBase&) override { best_ = start_value(); saved_ = false; }
  void after_epoch(LearnerBase& learn) override {
    if (every_epoch_) {
      learn.save(fname_ + "_" + std::to_string(learn.state.epoch));
      return;
    }
    const double v = callback_detail::monitored(learn, "SaveModelCallback", monitor_);
    if (improves(v)) {
      best_ = v;
      learn.save(fname_);
      saved_ = true;
    }
  }
  void after_fit(LearnerBase& learn) override {
    if (!every_epoch_ && saved_) learn.load(fname_);
  }
  double best() const { return best_; }

 private:
  bool lower() const { return callback_detail::lower_is_better(monitor_); }
  double start_value() const { return lower() ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity(); }
  bool improves(double v) const { return lower() ? v + min_delta_ < best_ : v - min_delta_ > best_; }
  std::string monitor_, fname_;
  bool every_epoch_;
  double min_delta_;
  double best_ = 0.0;
  bool saved_ = false;
};

// Stops the fit when the monitored value has not improved for `patience` epochs. A last resort: as the
// chapter explains, the epochs in the middle of a one-cycle schedule have not reached the low learning
// rates that give the best result, so retraining with fewer epochs usually beats stopping early.
class EarlyStoppingCallback final : public Callback {
 public:
  explicit EarlyStoppingCallback(std::string monitor = "valid_loss", double min_delta = 0.0, int patience = 1)
      : monitor_(std::move(monitor)), min_delta_(min_delta), patience_(patience) {}
  std::string name() const override { return "EarlyStoppingCallback"; }
  int order() const override { return 62; }
  void before_fit(LearnerBase&) override {
    best_ = callback_detail::lower_is_better(monitor_) ? std::numeric_limits<double>::infinity()
                                                       : -std::numeric_limits<double>::infinity();
    wait_ = 0;
  }
  void after_epoch(LearnerBase& learn) override {
    const double v = callback_detail::monitored(learn, "EarlyStoppingCallback", monitor_);
    const bool better = callback_detail::lower_is_better(monitor_) ? v + min_delta_ < best_ : v - min_delta_ > best_;
    if (better) {
      best_ = v;
      wait_ = 0;
    } else if (++wait_ >= patience_) {
      stopped_epoch_ = learn.state.epoch;
      throw CancelFit{};
    }
  }
  int stopped_epoch() const { return stopped_epoch_; }

 private:
  std::string monitor_;
  double min_delta_;
  int patience_;
  double best_ = 0.0;
  int wait_ = 0;
  int stopped_epoch_ = -1;
};

}  // namespace fastpp
