#pragma once
// fastai's metrics for classification: accuracy, error_rate and top_k_accuracy. A metric is a name and a
// function of one batch's predictions (logits or probabilities, [N, C]) and class-index targets [N]; the
// Learner averages it over the validation set weighted by batch size, as fastai's AvgMetric does. The
// column the progress table shows is the name.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"

namespace fastpp {

struct Metric {
  std::string name;
  // The metric of one batch (a mean over its rows); preds on the host, [N, C].
  std::function<double(const Tensor<float, cpu>& preds, const Tensor<std::int64_t, cpu>& targets)> fn;
};

namespace metric_detail {
inline void check_batch(const char* name, const Tensor<float, cpu>& preds, const Tensor<std::int64_t, cpu>& targets) {
  check<ShapeError>(preds.defined() && preds.rank() == 2, name, ": predictions must be [N, C], got ", preds.shape());
  check<ShapeError>(targets.defined() && targets.numel() == preds.size(0), name, ": ", preds.size(0),
                    " predictions but ", targets.defined() ? targets.numel() : 0, " targets");
}
// How many classes score strictly higher than the target's, ties counted in the target's favour after
// it (so k = 1 equals argmax == target with the first maximum winning, as torch.argmax picks it).
inline std::int64_t rank_of_target(const float* row, std::int64_t c, std::int64_t t) {
  std::int64_t above = 0;
  for (std::int64_t j = 0; j < c; ++j) above += row[j] > row[t] || (row[j] == row[t] && j < t);
  return above;
}
inline double top_k(const char* name, const Tensor<float, cpu>& preds, const Tensor<std::int64_t, cpu>& targets, int k) {
  check_batch(name, preds, targets);
  const std::int64_t n = preds.size(0), c = preds.size(1);
  if (n == 0) return 0.0;
  std::int64_t hits = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t t = targets.data()[i];
    check<IndexError>(t >= 0 && t < c, name, ": target ", t, " of row ", i, " is outside the ", c, " classes");
    hits += rank_of_target(preds.data() + i * c, c, t) < k;
  }
  return static_cast<double>(hits) / static_cast<double>(n);
}
}  // namespace metric_detail

// The fraction of rows whose largest prediction is the target.
inline Metric accuracy() {
  return {"accuracy", [](const Tensor<float, cpu>& p, const Tensor<std::int64_t, cpu>& t) {
            return metric_detail::top_k("accuracy", p, t, 1);
          }};
}
// 1 - accuracy.
inline Metric error_rate() {
  return {"error_rate", [](const Tensor<float, cpu>& p, const Tensor<std::int64_t, cpu>& t) {
            return 1.0 - metric_detail::top_k("error_rate", p, t, 1);
          }};
}
// The fraction of rows whose target is among the k largest predictions (fastai's default k is 5).
inline constexpr int top_k_default = 5;
inline Metric top_k_accuracy(int k = top_k_default) {
  check<ValueError>(k >= 1, "top_k_accuracy: k must be at least 1, got ", k);
  return {"top_k_accuracy", [k](const Tensor<float, cpu>& p, const Tensor<std::int64_t, cpu>& t) {
            return metric_detail::top_k("top_k_accuracy", p, t, k);
          }};
}

// metrics(error_rate, accuracy, top_k_accuracy) or metrics(error_rate(), top_k_accuracy(3)): the list a Learner
// takes.
namespace metric_detail {
inline Metric as_metric(Metric m) { return m; }
inline Metric as_metric(Metric (*make)()) { return make(); }
// top_k_accuracy named without a call: a pointer does not carry the default argument, so it is given here.
inline Metric as_metric(Metric (*make)(int)) { return make(top_k_default); }
}  // namespace metric_detail
template <class... M>
std::vector<Metric> metrics(M&&... m) {
  return {metric_detail::as_metric(std::forward<M>(m))...};
}

}  // namespace fastpp
