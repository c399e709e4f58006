#pragma once
// LearnerBase: everything of a Learner that does not depend on its model, loss, optimizer or data types:
// the training state callbacks read, the callback list and its events, the Recorder, and fastai's recipes
// (fit_one_cycle, fine_tune, lr_find, freezing), which are written once here over the virtual fit().
// Learner<Model, Loss, Optimizer, Dls> (learner.hpp) derives from it and supplies the typed parts, so a
// callback or a program that picks its architecture at run time holds a LearnerBase& and compiles none
// of the model's code.
#include <algorithm>
#include <array>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../nn/hooks.hpp"
#include "callback.hpp"
#include "lr_suggest.hpp"
#include "metrics.hpp"
#include "optimizer.hpp"
#include "process_group.hpp"
#include "recorder.hpp"
#include "schedule.hpp"

namespace fastpp {

struct FitOptions {
  std::optional<double> wd;          // weight decay for every group; default: the optimizer's (0.01 for Adam)
  std::vector<CallbackPtr> cbs;      // callbacks for this fit only
  bool reset_opt = false;            // a fresh optimizer (moments cleared)
  int start_epoch = 0;               // resume: epochs before it are skipped, schedules start where they were
};

struct OneCycleOptions {
  double div = 25.0;                 // the cycle starts at lr_max / div ...
  double div_final = 1e5;            // ... and ends at lr_max / div_final
  double pct_start = 0.25;           // fraction of the iterations spent warming up
  std::optional<std::array<double, 3>> moms;  // default: the learner's moms (0.95, 0.85, 0.95)
  std::optional<double> wd;
  std::vector<CallbackPtr> cbs;
  bool reset_opt = false;
  int start_epoch = 0;
};

struct FineTuneOptions {
  int freeze_epochs = 1;
  double lr_mult = 100.0;            // the first group's rate is base_lr / lr_mult after unfreezing
  double pct_start = 0.3;
  double div = 5.0;
  std::optional<double> wd;
  std::vector<CallbackPtr> cbs;
};

struct LrFindOptions {
  double start_lr = 1e-7;
  double end_lr = 10.0;
  int num_it = 100;
  bool stop_div = true;              // stop once the smoothed loss exceeds 4x its minimum
  std::filesystem::path plot;        // where to write the loss-against-lr plot (SVG); empty: none
};

// lr_find's result: fastai's four suggestions (valley is the default one) and the curve they came from.
struct LrFindResult {
  LrSuggestion valley, minimum, steep, slide;
  std::vector<double> lrs, losses;   // the window the suggestions read (first 10% and last 5 points dropped)
};

// How a learner reports progress: fastai's table (and a live bar on a terminal), or nothing.
enum class Progress { table, none };

struct LearnerOptions {
  std::filesystem::path path = ".";  // learn.save(name) writes path / model_dir / name.safetensors
  std::string model_dir = "models";
  std::array<double, 3> moms{0.95, 0.85, 0.95};
  std::optional<double> wd;          // every fit's weight decay unless the fit names one
  bool train_bn = true;              // frozen groups keep training their BatchNorm parameters
  std::uint64_t seed = 0;            // Dropout's masks are drawn from (seed, training step)
  Progress progress = Progress::table;
  std::ostream* out = nullptr;       // where the progress table goes; null: std::cout
  std::vector<CallbackPtr> cbs;      // callbacks for every fit
};

class LearnerBase {
 public:
  virtual ~LearnerBase() = default;

  TrainState state;
  Recorder& recorder() { return *recorder_; }
  const Recorder& recorder() const { return *recorder_; }
  const LearnerOptions& options() const { return opts_; }

  // ---- what the typed learner supplies --------------------------------------------------------------
  virtual int n_groups() = 0;
  virtual std::int64_t n_train_batches() const = 0;
  // The optimizer's hyperparameters, one entry per parameter group (created on first use).
  virtual std::vector<Hypers>& hypers() = 0;
  // Trains n_epoch epochs at the given rates (fastai's fit).
  virtual void fit(int n_epoch, const LrSpec& lr = 1e-3, const FitOptions& opt = {}) = 0;
  // Validation loss and metrics, as the table shows them: valid_loss, then one value per metric.
  virtual std::vector<double> validate() = 0;
  virtual void freeze_to(int n) = 0;
  // Checkpoints: path()/model_dir/name.safetensors (learner.hpp describes what they hold).
  virtual std::filesystem::path save(const std::string& name) = 0;
  virtual void load(const std::string& name) = 0;
  // Epochs finished by the fit that wrote the last loaded checkpoint (what start_epoch resumes from).
  int epochs_done() const noexcept { return epochs_done_; }

  // Every parameter in a fixed order (the same in every process that built the same model): its name,
  // its value and gradient (host pointers on the cpu, device pointers elsewhere; the gradient is null for a
  // frozen parameter, which backward leaves alone) and its element count.
  // What data-parallel training broadcasts and averages (fastpp/distributed/).
  using ParamVisitor = std::function<void(const std::string& name, float* value, float* grad, std::int64_t n)>;
  virtual void visit_params(const ParamVisitor& f) = 0;

  // The processes of a data-parallel run (null: this process alone). See process_group.hpp.
  void set_process_group(std::shared_ptr<ProcessGroup> g) { group_ = std::move(g); }
  ProcessGroup* process_group() const noexcept { return group_.get(); }
  // Whether this process prints, plots and writes files: rank 0, or the only process.
  bool is_main_process() const noexcept { return !group_ || group_->rank() == 0; }
  // What a data-parallel run hands the training forward and backward (nn/hooks.hpp; null: nothing).
  nn::ParallelHooks parallel_hooks;

  void freeze() { freeze_to(-1); }
  void unfreeze() { freeze_to(0); }
  void add_cb(CallbackPtr cb) { opts_.cbs.push_back(std::move(cb)); }
  std::filesystem::path checkpoint_path(const std::string& name) const {
    return opts_.path / opts_.model_dir / (name + ".safetensors");
  }

  // ---- fastai's recipes (recipes.hpp) ----------------------------------------------------------------
  void fit_one_cycle(int n_epoch, const LrSpec& lr_max = 1e-3, const OneCycleOptions& opt = {});
  void fine_tune(int epochs, double base_lr = 2e-3, const FineTuneOptions& opt = {});
  LrFindResult lr_find(const LrFindOptions& opt = {});

 protected:
  explicit LearnerBase(LearnerOptions opts) : opts_(std::move(opts)), recorder_(std::make_shared<Recorder>()) {}
  LearnerBase(LearnerBase&&) = default;
  LearnerBase& operator=(LearnerBase&&) = delete;

  // Every callback of a fit sorted by order (stable: ties keep the order they were added in).
  std::vector<CallbackPtr> fit_callbacks(const std::vector<CallbackPtr>& extra) const;
  // Raises one event on every callback of the running fit.
  template <class Event>
  void event(Event e) {
    for (auto& cb : running_) ((*cb).*e)(*this);
  }

  LearnerOptions opts_;
  std::shared_ptr<Recorder> recorder_;
  std::vector<CallbackPtr> running_;  // the callbacks of the fit in progress
  bool logging_ = true;               // false while lr_find runs: no progress table
  int epochs_done_ = 0;
  std::shared_ptr<ProcessGroup> group_;
};

}  // namespace fastpp
