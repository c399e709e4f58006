// What a trained learner gives back: get_preds, predict on a file, validate and the metrics; the
// callbacks a user adds (CSV log, best-model saving, early stopping); fine_tune's exact sequence.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "helpers.hpp"

using namespace fastpp;
using namespace fastpp::test;

namespace {
LearnerOptions in_dir(const fs::path& dir) {
  LearnerOptions o;
  o.progress = Progress::none;
  o.path = dir;
  return o;
}
}  // namespace

TEST_CASE("metrics: accuracy, error_rate and top_k_accuracy on hand-made predictions", "[learner][metrics]") {
  const auto preds = Tensor<float, cpu>::from({4, 3}, {0.1f, 0.7f, 0.2f,   // 1
                                                       0.5f, 0.3f, 0.2f,   // 0
                                                       0.2f, 0.3f, 0.5f,   // 2
                                                       0.4f, 0.4f, 0.2f}); // tie: 0 first
  const auto targets = Tensor<std::int64_t, cpu>::from({4}, {1, 2, 2, 1});
  CHECK(accuracy().fn(preds, targets) == Approx(0.5));
  CHECK(error_rate().fn(preds, targets) == Approx(0.5));
  CHECK(top_k_accuracy(2).fn(preds, targets) == Approx(0.75));
  CHECK(top_k_accuracy(3).fn(preds, targets) == Approx(1.0));
  CHECK_THROWS_WITH(accuracy().fn(preds, Tensor<std::int64_t, cpu>::from({3}, {0, 1, 2})), Catch::Contains("4 predictions but 3 targets"));
  CHECK_THROWS_WITH(accuracy().fn(preds, Tensor<std::int64_t, cpu>::from({4}, {0, 1, 7, 0})), Catch::Contains("target 7 of row 2"));
  const auto list = metrics(error_rate, top_k_accuracy(2));
  CHECK(list[0].name == "error_rate");
  CHECK(list[1].name == "top_k_accuracy");
  // named without a call, top_k_accuracy takes fastai's default k = 5: the sixth-ranked class misses
  const auto by_name = metrics(top_k_accuracy);
  const auto six = Tensor<float, cpu>::from({2, 6}, {0.6f, 0.5f, 0.4f, 0.3f, 0.2f, 0.1f, 0.6f, 0.5f, 0.4f, 0.3f, 0.2f, 0.1f});
  CHECK(by_name[0].name == "top_k_accuracy");
  CHECK(by_name[0].fn(six, Tensor<std::int64_t, cpu>::from({2}, {4, 5})) == Approx(0.5));
}

TEST_CASE("get_preds, predict and validate agree with each other", "[learner]") {
  TempDir t;
  write_colour_dataset(t / "data");
  auto learn = make_learner(colour_dls(t / "data"), tiny_net(), metrics(accuracy), in_dir(t.path()));
  learn.fit_one_cycle(3, 3e-2);
  const auto v = learn.validate();
  const auto p = learn.get_preds(1, true);
  const auto n = learn.dls().valid.n_items();
  REQUIRE(p.probs.shape() == Shape{n, 3});
  REQUIRE(p.targets.numel() == n);
  REQUIRE(p.losses.numel() == n);
  double loss = 0, hits = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    double sum = 0;
    std::int64_t best = 0;
    for (std::int64_t j = 0; j < 3; ++j) {
      sum += p.probs(i, j);
      if (p.probs(i, j) > p.probs(i, best)) best = j;
    }
    CHECK(sum == Approx(1.0).epsilon(1e-5));
    CHECK(p.losses.data()[i] == Approx(-std::log(p.probs(i, p.targets.data()[i]))).epsilon(1e-4));
    loss += p.losses.data()[i];
    hits += best == p.targets.data()[i];
  }
  CHECK(loss / static_cast<double>(n) == Approx(v[0]).epsilon(1e-5));
  CHECK(hits / static_cast<double>(n) == Approx(v[1]));
  // predict on an item file gives the same probabilities as get_preds for that item.
  const auto items = learn.dls().valid.items();
  const std::int64_t k = p.idxs[5];
  const auto pred = learn.predict(items[k]);
  REQUIRE(pred.probs.size() == 3);
  for (std::int64_t j = 0; j < 3; ++j) CHECK(pred.probs[static_cast<std::size_t>(j)] == Approx(p.probs(5, j)).epsilon(1e-6));
  CHECK(pred.label == learn.dls().vocab[pred.index]);
  CHECK_THROWS_WITH(learn.predict(t / "missing.ppm"), Catch::Contains("missing.ppm"));
}

TEST_CASE("CSVLogger, SaveModelCallback and EarlyStoppingCallback", "[learner][callbacks]") {
  TempDir t;
  write_colour_dataset(t / "data");
  auto learn = make_learner(colour_dls(t / "data"), tiny_net(), metrics(error_rate), in_dir(t.path()));
  auto save = std::make_shared<SaveModelCallback>("valid_loss", "best");
  FitOptions fo;
  fo.cbs = {std::make_shared<CSVLogger>(t / "history.csv"), save};
  learn.fit(3, 1e-2, fo);
  std::ifstream csv(t / "history.csv");
  std::string header, line;
  std::getline(csv, header);
  CHECK(header == "epoch,train_loss,valid_loss,error_rate,time");
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  CHECK(rows == 3);
  // The best epoch's weights were saved and loaded back at the end.
  CHECK(fs::exists(t / "models" / "best.safetensors"));
  double best = 1e9;
  for (const auto& row : learn.recorder().values) best = std::min(best, row[1]);
  CHECK(save->best() == best);
  CHECK(learn.validate()[0] == Approx(best).epsilon(1e-6));

  // Early stopping on a metric that cannot improve: lr 0 keeps the weights, so the second epoch stops.
  auto stop = std::make_shared<EarlyStoppingCallback>("valid_loss", 0.0, 1);
  FitOptions fo2;
  fo2.cbs = {stop};
  learn.fit(5, 0.0, fo2);
  CHECK(stop->stopped_epoch() == 1);
  CHECK(learn.recorder().values.size() == 2);
  FitOptions bad;
  bad.cbs = {std::make_shared<EarlyStoppingCallback>("f1_score")};
  CHECK_THROWS_WITH(learn.fit(1, 1e-3, bad), Catch::Contains("no column \"f1_score\""));
}

TEST_CASE("fine_tune: a frozen one-cycle at slice(base_lr) with pct_start 0.99, then unfrozen at slice(base_lr/200, base_lr/2)",
          "[learner]") {
  TempDir t;
  write_colour_dataset(t / "data");
  auto learn = make_learner(colour_dls(t / "data"), tiny_net(), {}, in_dir(t.path()));
  struct Seen {
    std::vector<std::vector<double>> lrs;
    std::vector<bool> conv_frozen;
  };
  std::vector<Seen> fits;
  auto cb = std::make_shared<LambdaCallback>();
  cb->ord = 70;
  cb->on_before_batch = [&](LearnerBase& l) {
    if (!l.state.training) return;
    if (l.state.train_iter == 0) fits.emplace_back();
    std::vector<double> row;
    for (const auto& h : l.hypers()) row.push_back(h.lr);
    fits.back().lrs.push_back(row);
    bool frozen = false;
    learn.model().for_each_param([&](const std::string& n, nn::Param& p) { if (n == "0.weight") frozen = p.frozen; });
    fits.back().conv_frozen.push_back(frozen);
  };
  FineTuneOptions o;
  o.cbs = {cb};
  learn.fine_tune(2, 2e-3, o);
  REQUIRE(fits.size() == 2);
  const auto nb = static_cast<std::size_t>(learn.dls().train.n_batches());
  REQUIRE(fits[0].lrs.size() == nb);
  REQUIRE(fits[1].lrs.size() == 2 * nb);
  CHECK(fits[0].conv_frozen.front());
  CHECK_FALSE(fits[1].conv_frozen.front());
  // Frozen phase: groups at slice(2e-3) = [2e-4, 2e-3], starting at lr_max / 25.
  CHECK(fits[0].lrs[0][0] == Approx(2e-4 / 25));
  CHECK(fits[0].lrs[0][1] == Approx(2e-3 / 25));
  // Unfrozen phase: slice(1e-5, 1e-3) over two groups = [1e-5, 1e-3], starting at lr_max / 5.
  CHECK(fits[1].lrs[0][0] == Approx(1e-5 / 5));
  CHECK(fits[1].lrs[0][1] == Approx(1e-3 / 5));
}
