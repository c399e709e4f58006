#pragma once
// Hyperparameter schedules as fastai writes them (fastai/callback/schedule.py): the annealing functions
// of (start, end, pos), combine_scheds, combined_cos and the one-cycle policy's learning-rate and
// momentum curves. A schedule maps the position in training, pos in [0, 1], to a value; the Learner
// calls it before every training batch with fastai's pct_train.
#include <array>
#include <cmath>
#include <cstddef>
#include <functional>
#include <numbers>
#include <optional>
#include <utility>
#include <vector>

#include "../core/error.hpp"

namespace fastpp::sched {

// The annealing functions, each the same expression as fastai's sched_* (same order of operations, so
// the same double).
inline double lin(double start, double end, double pos) { return start + pos * (end - start); }
inline double cos(double start, double end, double pos) {
  return start + (1 + std::cos(std::numbers::pi * (1 - pos))) * (end - start) / 2;
}
inline double no(double start, double /*end*/, double /*pos*/) { return start; }
inline double exp(double start, double end, double pos) { return start * std::pow(end / start, pos); }
inline double poly(double start, double end, double pos, double power) {
  return start + (end - start) * std::pow(pos, power);
}

using Schedule = std::function<double(double pos)>;

// fastai's combine_scheds: phase i covers [c_i, c_{i+1}) of the cumulative pcts, a position exactly on a
// boundary belongs to the next phase, pos 1.0 is the last phase's end, and each phase sees its local
// position (pos - c_i) / (c_{i+1} - c_i).
//
// fastai keeps the cumulative boundaries in a float32 tensor, so the comparison and the local position
// are float32 arithmetic (pos is rounded to float32 first). This does the same, so that a boundary such as
// pct_start = 0.3 (float32: 0.30000001) splits the iterations where fastai splits them and every value
// equals fastai's to the last bits.
inline Schedule combine(std::vector<double> pcts, std::vector<Schedule> scheds) {
  check(!pcts.empty() && pcts.size() == scheds.size(), "sched::combine: ", pcts.size(), " pcts for ",
        scheds.size(), " schedules (need one pct per schedule, at least one)");
  double sum = 0;
  for (std::size_t i = 0; i < pcts.size(); ++i) {
    check(pcts[i] >= 0, "sched::combine: pct ", i, " is ", pcts[i], " (pcts must not be negative)");
    check(static_cast<bool>(scheds[i]), "sched::combine: schedule ", i, " is empty");
    sum += pcts[i];
  }
  // fastai asserts sum(pcts) == 1 exactly; a tolerance lets pcts such as {0.1, 0.2, 0.7} through.
  check(std::abs(sum - 1.0) <= 1e-9, "sched::combine: the pcts sum to ", sum, ", not 1");
  std::vector<float> edges{0.0f};
  for (double p : pcts) edges.push_back(edges.back() + static_cast<float>(p));  // torch.cumsum in float32
  return [edges = std::move(edges), scheds = std::move(scheds)](double pos) {
    check(pos >= 0 && pos <= 1 + 1e-9, "schedule position ", pos, " is outside [0, 1]");
    const float posf = static_cast<float>(pos);
    std::size_t idx = 0;
    for (std::size_t i = 0; i < edges.size(); ++i)
      if (posf >= edges[i]) idx = i;
    idx = std::min(idx, edges.size() - 2);
    const float local = (posf - edges[idx]) / (edges[idx + 1] - edges[idx]);
    return scheds[idx](static_cast<double>(local));
  };
}

// fastai's combined_cos: cosine from start to middle over [0, pct), then from middle to end over [pct, 1].
inline Schedule combined_cos(double pct, double start, double middle, double end) {
  return combine({pct, 1 - pct}, {[=](double p) { return cos(start, middle, p); },
                                  [=](double p) { return cos(middle, end, p); }});
}

// fit_one_cycle's options (fastai's defaults). wd, when set, is what the Learner sets on every group.
struct OneCycle {
  double div = 25, div_final = 1e5, pct_start = 0.25;
  std::array<double, 3> moms{0.95, 0.85, 0.95};
  std::optional<double> wd{};  // the {} keeps g++'s -Wmissing-field-initializers quiet for {.pct_start = 0.3}
};

// One group's learning rate under fit_one_cycle: lr_max/div up to lr_max over pct_start, then down to
// lr_max/div_final (call once per group with that group's lr_max).
inline Schedule one_cycle_lr(double lr_max, const OneCycle& o) {
  check(o.div > 0 && o.div_final > 0, "one_cycle_lr: div ", o.div, " and div_final ", o.div_final,
        " must be positive");
  return combined_cos(o.pct_start, lr_max / o.div, lr_max, lr_max / o.div_final);
}
// The momentum under fit_one_cycle: moms[0] to moms[1] over pct_start, then back to moms[2].
inline Schedule one_cycle_mom(const OneCycle& o) { return combined_cos(o.pct_start, o.moms[0], o.moms[1], o.moms[2]); }

}  // namespace fastpp::sched
