#pragma once
// Callbacks: code that runs at fixed points of training, as fastai's do. They are type-erased (a virtual
// base over a non-template view of the learner), so a user's callback carries no template parameters
// and adds no instantiations of the Learner.
//
// Events, in the order one fit raises them (fastai's names):
//   before_fit
//     before_epoch
//       before_train   { before_batch  after_loss  after_backward  after_step  after_batch }*  after_train
//       before_validate { before_batch  after_loss  after_batch }*            after_validate
//     after_epoch
//   after_fit          (always, also when a callback cancelled or threw)
// Callbacks run sorted by order() (lower first), ties in the order they were added.
// A callback cancels with the exceptions below (fastai's CancelXException); any other exception stops
// training, after the model and optimizer are left as they were after the last finished step.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "optimizer.hpp"

namespace fastpp {

struct CancelBatch {};  // skip the rest of this batch (no backward/step when raised before them)
struct CancelStep {};   // skip the optimizer step of this batch
struct CancelTrain {};  // skip the rest of this epoch's training, then validate
struct CancelValid {};  // skip the rest of this epoch's validation
struct CancelEpoch {};  // skip the rest of this epoch
struct CancelFit {};    // stop the fit (after_fit still runs)

// What callbacks read: counters, the current batch's loss, the epoch's results.
struct TrainState {
  int epoch = 0, n_epoch = 0;       // the epoch running, of n_epoch in this fit
  std::int64_t iter = 0;            // batch index within the current pass
  std::int64_t n_iter = 0;          // batches in the current pass
  std::int64_t train_iter = 0;      // training batches since the fit began (fastai's train_iter)
  double pct_train = 0.0;           // position in the fit, 0 .. 1 (what schedules read)
  bool training = false;            // in the training pass (false in validation)
  std::int64_t batch_size = 0;
  double loss = 0.0;                // this batch's loss (mean over its rows)
  double smooth_loss = 0.0;         // fastai's debiased moving average of training losses
  bool step_skipped = false;        // the last step was skipped (CancelStep or a loss-scaler overflow)
  // Filled at the end of each epoch: train_loss, valid_loss, then one value per metric.
  std::vector<std::string> metric_names;
  std::vector<double> epoch_values;
  double epoch_seconds = 0.0;
  // Time the training pass spent waiting for the loader's next batch (this epoch): what "the loop never
  // waits for data" is measured by.
  double data_wait_seconds = 0.0;
};

class LearnerBase;

class Callback {
 public:
  virtual ~Callback() = default;
  virtual std::string name() const = 0;
  virtual int order() const { return 0; }
  virtual void before_fit(LearnerBase&) {}
  virtual void before_epoch(LearnerBase&) {}
  virtual void before_train(LearnerBase&) {}
  virtual void before_batch(LearnerBase&) {}
  virtual void after_loss(LearnerBase&) {}
  // The gradients are complete and the step has not run (data-parallel training averages them here).
  virtual void after_backward(LearnerBase&) {}
  virtual void after_step(LearnerBase&) {}
  virtual void after_batch(LearnerBase&) {}
  virtual void after_train(LearnerBase&) {}
  virtual void before_validate(LearnerBase&) {}
  virtual void after_validate(LearnerBase&) {}
  virtual void after_epoch(LearnerBase&) {}
  virtual void after_fit(LearnerBase&) {}
};

using CallbackPtr = std::shared_ptr<Callback>;

}  // namespace fastpp
