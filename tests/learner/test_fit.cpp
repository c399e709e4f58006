// The Learner's training loop on a small colour dataset: it learns, the progress table has fastai's
// format, the one-cycle schedule reaches the optimizer batch by batch, freezing decides which
// parameters move, and fine_tune runs fastai's exact sequence.
#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>

#include "helpers.hpp"

using namespace fastpp;
using namespace fastpp::test;

namespace {
LearnerOptions quiet(std::ostream* out = nullptr) {
  LearnerOptions o;
  o.progress = out ? Progress::table : Progress::none;
  o.out = out;
  return o;
}
}  // namespace

TEST_CASE("fit_one_cycle trains a tiny network to high accuracy and prints fastai's table", "[learner]") {
  TempDir t;
  write_colour_dataset(t.path());
  std::ostringstream out;
  auto learn = make_learner(colour_dls(t.path()), tiny_net(), metrics(error_rate, accuracy), quiet(&out));
  const auto before = learn.validate();
  learn.fit_one_cycle(4, 3e-2);
  const auto after = learn.validate();
  CHECK(after[0] < before[0]);
  CHECK(after[2] >= 0.9);                        // accuracy
  CHECK(after[1] == Approx(1.0 - after[2]));     // error_rate
  const auto& r = learn.recorder();
  CHECK(r.lrs.size() == static_cast<std::size_t>(4 * learn.dls().train.n_batches()));
  CHECK(r.values.size() == 4);
  CHECK(r.values.back()[1] == Approx(after[0]).epsilon(1e-6));
  const std::string text = out.str();
  CHECK(text.rfind("epoch     train_loss  valid_loss  error_rate  accuracy  time    \n", 0) == 0);
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);
  std::getline(lines, line);
  CHECK(line.rfind("0         ", 0) == 0);
  CHECK(line.size() == 10 + 12 + 12 + 12 + 10 + 10);  // each cell padded to its column's width + 2
}

TEST_CASE("fit_one_cycle sets every batch's lr and mom from fastai's cosine schedules, per group", "[learner]") {
  TempDir t;
  write_colour_dataset(t.path());
  auto learn = make_learner(colour_dls(t.path()), tiny_net(), {}, quiet());
  std::vector<std::vector<double>> lrs;
  std::vector<double> moms;
  auto cb = std::make_shared<LambdaCallback>();
  cb->ord = 70;  // after the scheduler (60)
  cb->on_before_batch = [&](LearnerBase& l) {
    if (!l.state.training) return;
    std::vector<double> row;
    for (const auto& h : l.hypers()) row.push_back(h.lr);
    lrs.push_back(row);
    moms.push_back(l.hypers()[0].mom);
  };
  OneCycleOptions o;
  o.cbs = {cb};
  learn.fit_one_cycle(2, lr_slice(1e-4, 1e-2), o);
  const std::size_t n = lrs.size();
  REQUIRE(n == static_cast<std::size_t>(2 * learn.dls().train.n_batches()));
  const double pi = std::acos(-1.0);
  auto cos_anneal = [&](double a, double b, double p) { return a + (1 + std::cos(pi * (1 - p))) * (b - a) / 2; };
  // fastai places the position within a phase in float32 (combine_scheds works on torch tensors), so the
  // values agree with the double-precision formula to about 1e-7.
  for (std::size_t i = 0; i < n; ++i) {
    const double pos = static_cast<double>(i) / static_cast<double>(n);
    for (int g = 0; g < 2; ++g) {
      const double mx = g == 0 ? 1e-4 : 1e-2;
      const double want = pos < 0.25 ? cos_anneal(mx / 25, mx, pos / 0.25) : cos_anneal(mx, mx / 1e5, (pos - 0.25) / 0.75);
      CHECK(lrs[i][static_cast<std::size_t>(g)] == Approx(want).epsilon(1e-6));
    }
    const double want_mom = pos < 0.25 ? cos_anneal(0.95, 0.85, pos / 0.25) : cos_anneal(0.85, 0.95, (pos - 0.25) / 0.75);
    CHECK(moms[i] == Approx(want_mom).epsilon(1e-6));
  }
}

TEST_CASE("freeze trains the last group and every norm layer; unfreeze trains all", "[learner]") {
  TempDir t;
  write_colour_dataset(t.path());
  auto learn = make_learner(colour_dls(t.path()), tiny_net(), {}, quiet());
  auto snapshot = [&] {
    std::map<std::string, std::vector<float>> m;
    learn.model().for_each_param([&](const std::string& n, nn::Param& p) { m[n] = p.to_host(); });
    return m;
  };
  learn.freeze();
  auto a = snapshot();
  learn.fit(1, 1e-2);
  auto b = snapshot();
  CHECK(a["0.weight"] == b["0.weight"]);  // frozen conv
  CHECK(a["1.weight"] != b["1.weight"]);  // its BatchNorm trains (train_bn)
  CHECK(a["6.weight"] != b["6.weight"]);  // the last group trains
  learn.unfreeze();
  learn.fit(1, 1e-2);
  auto c = snapshot();
  CHECK(b["0.weight"] != c["0.weight"]);
  CHECK_THROWS_WITH(make_learner(colour_dls(t.path()), nn::Sequential<nn::Flatten, nn::Linear<432, 3>>{}, {}, quiet()).freeze(),
                    Catch::Contains("single parameter group"));
}
