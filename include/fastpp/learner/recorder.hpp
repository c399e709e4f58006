#pragma once
// The Recorder every Learner carries (fastai's Recorder, order 50): per training batch the last group's
// learning rate and momentum and the smoothed loss; per epoch the row of the progress table. The smoothed
// loss is fastai's AvgSmoothLoss: an exponential moving average (beta 0.98), debiased, reset at the start
// of each fit only, so an epoch's train_loss is the average as it stood at the end of that epoch.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "callback.hpp"

namespace fastpp {

struct SmoothLoss {
  double beta = 0.98;
  double val = 0.0;
  std::int64_t count = 0;

  void reset() { val = 0.0, count = 0; }
  double add(double loss) {
    ++count;
    val = beta * val + (1.0 - beta) * loss;  // torch.lerp(loss, val, beta) in fastai
    return value();
  }
  double value() const { return count == 0 ? 0.0 : val / (1.0 - std::pow(beta, static_cast<double>(count))); }
};

class Recorder final : public Callback {
 public:
  // Per training batch, over every fit since the learner was made (lr_find's included until it clears them).
  std::vector<double> lrs, moms, losses;
  // Per epoch: train_loss, valid_loss, then the metrics (names in metric_names); iters counts the batches
  // recorded when each epoch ended.
  std::vector<std::vector<double>> values;
  std::vector<std::int64_t> iters;
  std::vector<std::string> metric_names;
  SmoothLoss smooth;

  std::string name() const override { return "Recorder"; }
  int order() const override { return 50; }
  void before_fit(LearnerBase& learn) override;
  void after_batch(LearnerBase& learn) override;
  void after_epoch(LearnerBase& learn) override;

  // Column names of values, as fastai prints them.
  std::vector<std::string> columns() const {
    std::vector<std::string> c{"train_loss", "valid_loss"};
    c.insert(c.end(), metric_names.begin(), metric_names.end());
    return c;
  }
  void clear() {
    lrs.clear(), moms.clear(), losses.clear(), values.clear(), iters.clear();
    smooth.reset();
  }
};

}  // namespace fastpp
