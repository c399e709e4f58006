// The interpretation and the plots of a trained learner: the tiny colour net of tests/learner/helpers.hpp
// trained for two epochs. from_learner must agree with get_preds number for number, its top-loss images
// must be the dataset's own pixels, and the recorder's and lr_find's plots must hold one mark per record.
#include <catch2/catch.hpp>

#include <fastpp/interpret.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "../learner/helpers.hpp"
#include "svg_check.hpp"

using namespace fastpp;
using namespace fastpp::test;

TEST_CASE("from_learner agrees with get_preds, and plot_top_losses shows the items' own pixels", "[interpret]") {
  TempDir t;
  write_colour_dataset(t.path());
  auto learn = make_learner(colour_dls(t.path(), 8), tiny_net(), {}, quiet_in(t.path()));
  learn.fit_one_cycle(2, 2e-2);
  const auto preds = learn.get_preds(1, true);
  const auto interp = ClassificationInterpretation::from_learner(learn);
  const std::int64_t n = preds.probs.size(0), c = preds.probs.size(1);
  REQUIRE(interp.n_rows() == n);
  REQUIRE(interp.n_classes() == 3);
  CHECK(interp.vocab() == std::vector<std::string>(learn.dls().vocab.begin(), learn.dls().vocab.end()));
  CHECK(std::memcmp(interp.probs().data(), preds.probs.data(), preds.probs.nbytes()) == 0);
  CHECK(std::memcmp(interp.losses().data(), preds.losses.data(), preds.losses.nbytes()) == 0);
  CHECK(interp.idxs() == preds.idxs);

  // The confusion matrix recounted from get_preds' argmax.
  std::vector<std::int64_t> cm(static_cast<std::size_t>(c * c), 0);
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = preds.probs.data() + i * c;
    ++cm[static_cast<std::size_t>(preds.targets.data()[i] * c + (std::max_element(row, row + c) - row))];
  }
  const auto got = interp.confusion_matrix();
  CHECK(std::vector<std::int64_t>(got.data(), got.data() + c * c) == cm);
  std::int64_t diag = 0;
  for (std::int64_t k = 0; k < c; ++k) diag += cm[static_cast<std::size_t>(k * c + k)];
  INFO("accuracy after two epochs: " << diag << "/" << n);
  CHECK(diag > n / 2);  // it learned something, so the report's numbers are not all zero

  // The largest loss is get_preds' largest.
  const auto top = interp.top_losses(3);
  const float* l = preds.losses.data();
  CHECK(top[0].loss == *std::max_element(l, l + n));
  CHECK(top[0].index == preds.idxs[static_cast<std::size_t>(top[0].row)]);

  // plot_top_losses reloads each item through the valid pipeline: no resize or Normalize here, so the
  // image in the SVG is the file's pixels.
  const auto els = parse_svg(interp.top_losses_svg(3));
  const auto images = named(els, "image");
  const auto captions = with_class(els, "caption");
  REQUIRE(images.size() == 3);
  const auto items = learn.dls().valid.items();
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(captions[k].text == ClassificationInterpretation::caption(top[k]));
    const Image shown = decode_data_png(images[k].attr("xlink:href"));
    const Image file = load_netpbm(items[top[k].index]);
    REQUIRE(shown.shape() == file.shape());
    CHECK(std::equal(shown.data(), shown.data() + shown.numel(), file.data()));
    // The caption's actual label is the item's folder name.
    CHECK(top[k].actual_label == items[top[k].index].parent_path().filename().string());
  }
  interp.plot_confusion_matrix(t / "cm.svg");
  CHECK(with_class(parse_svg(read_text(t / "cm.svg")), "cell").size() == 9);
  std::ostringstream report;
  interp.print_classification_report(report);
  CHECK(report.str().find("weighted avg") != std::string::npos);

  // The train loader works too (its own order and positions).
  const auto train = ClassificationInterpretation::from_learner(learn, 0);
  CHECK(train.n_rows() == learn.dls().train.n_batches() * 8);
  CHECK_THROWS_AS(ClassificationInterpretation::from_learner(learn, 2), IndexError);
}

TEST_CASE("plot_loss, plot_sched and plot_lr_find draw one mark per record, on labelled axes", "[interpret]") {
  TempDir t;
  write_colour_dataset(t.path());
  auto learn = make_learner(colour_dls(t.path(), 8), tiny_net(), {}, quiet_in(t.path()));
  learn.fit_one_cycle(3, 2e-2);
  const Recorder& r = learn.recorder();
  REQUIRE(r.losses.size() == 27);  // 72 items / 8 per batch, 3 epochs
  REQUIRE(r.values.size() == 3);

  plot_loss(r, t / "loss.svg");
  auto els = parse_svg(read_text(t / "loss.svg"));
  REQUIRE(with_class(els, "train-loss").size() == 1);
  CHECK(polyline_points(with_class(els, "train-loss")[0]) == r.losses.size() - 5);
  CHECK(with_class(els, "valid-point").size() == 3);  // one per epoch, all after iteration 5
  CHECK(polyline_points(with_class(els, "valid-loss").at(0)) == 3);
  CHECK(with_class(els, "xlabel").at(0).text == "iteration");
  CHECK(with_class(els, "ylabel").at(0).text == "loss");
  CHECK(with_class(els, "xtick").size() >= 3);
  CHECK(with_class(els, "ytick").size() >= 3);
  const auto legend = with_class(els, "legend-label");
  REQUIRE(legend.size() == 2);
  CHECK(legend[0].text == "train");
  CHECK(legend[1].text == "valid");
  // The valid points sit where fastai puts them: at x = recorder.iters[epoch], the number of batches done
  // when the epoch ended, so the last one is one step right of the last train point (x = 26).
  const auto pts = with_class(els, "valid-point");
  std::istringstream xs(with_class(els, "train-loss")[0].attr("points"));
  std::vector<double> px;
  for (std::string p; xs >> p;) px.push_back(std::stod(p.substr(0, p.find(','))));
  const double step = (px.back() - px.front()) / static_cast<double>(px.size() - 1);
  CHECK(std::stod(pts.back().attr("cx")) == Approx(px.back() + step).margin(0.02));
  CHECK(std::stod(pts.front().attr("cx")) == Approx(px.front() + (9 - 5) * step).margin(0.02));  // iters[0] = 9

  // skip_start larger than the first epoch leaves that epoch's valid point out; without valid, none.
  els = parse_svg(plot_loss_svg(r, {.skip_start = 10, .with_valid = true}));
  CHECK(polyline_points(with_class(els, "train-loss")[0]) == r.losses.size() - 10);
  CHECK(with_class(els, "valid-point").size() == 2);
  els = parse_svg(plot_loss_svg(r, {.skip_start = 0, .with_valid = false}));
  CHECK(with_class(els, "valid-point").empty());
  CHECK(with_class(els, "legend-label").size() == 1);
  CHECK_THROWS_AS(plot_loss_svg(r, {.skip_start = 27}), ValueError);

  plot_sched(r, t / "sched.svg");
  els = parse_svg(read_text(t / "sched.svg"));
  CHECK(polyline_points(with_class(els, "lr").at(0)) == r.lrs.size());
  CHECK(polyline_points(with_class(els, "mom").at(0)) == r.moms.size());
  const auto ylabels = with_class(els, "ylabel");
  REQUIRE(ylabels.size() == 2);
  CHECK(ylabels[0].text == "learning rate");
  CHECK(ylabels[1].text == "momentum");
  // one-cycle: the lr peaks where the momentum bottoms out, at the same x on both panels' scale.
  const auto peak = std::max_element(r.lrs.begin(), r.lrs.end()) - r.lrs.begin();
  const auto trough = std::min_element(r.moms.begin(), r.moms.end()) - r.moms.begin();
  CHECK(peak == trough);

  LrFindOptions lf;
  lf.num_it = 30;
  const auto found = learn.lr_find(lf);
  plot_lr_find(found, t / "lr_find.svg");
  els = parse_svg(read_text(t / "lr_find.svg"));
  CHECK(polyline_points(with_class(els, "lr-find").at(0)) == found.lrs.size());
  CHECK(with_class(els, "suggestion").size() == 4);
  CHECK(with_class(els, "valley").size() == 1);
  CHECK(with_class(els, "xlabel").at(0).text == "learning rate (log scale)");
  // A log axis: its tick labels are powers of ten (and 2x, 5x of them over short ranges).
  for (const auto& tick : with_class(els, "xtick-label")) {
    const double v = std::stod(tick.text);
    const double mant = v / std::pow(10.0, std::floor(std::log10(v) + 1e-9));
    CHECK((std::abs(mant - 1) < 1e-6 || std::abs(mant - 2) < 1e-6 || std::abs(mant - 5) < 1e-6));
  }
  CHECK(with_class(els, "xtick-label").size() >= 3);
  bool valley_listed = false;
  for (const auto& e : with_class(els, "legend-label")) valley_listed |= e.text.rfind("valley: ", 0) == 0;
  CHECK(valley_listed);
}

TEST_CASE("svg helpers: nice ticks, log ticks, numbers and escaping", "[interpret]") {
  CHECK(svg::nice_ticks(0, 1, 5) == std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1.0});
  const auto t = svg::nice_ticks(0.37, 2.91, 6);
  REQUIRE(t.size() >= 4);
  CHECK(t.front() >= 0.37);
  CHECK(t.back() <= 2.91);
  CHECK(svg::log_ticks(1e-7, 10).size() == 9);  // 1e-7 .. 1e1
  CHECK(svg::log_ticks(0.3, 4) == std::vector<double>{0.5, 1, 2});
  CHECK(svg::num(12.5) == "12.5");
  CHECK(svg::num(40.0) == "40");
  CHECK(svg::num(-0.001) == "0");
  CHECK(svg::escape("a<b & \"c\"") == "a&lt;b &amp; &quot;c&quot;");
  CHECK(svg::blues(0) == "#f7fbff");
  CHECK(svg::blues(1) == "#08306b");
  CHECK(svg::text_length("caf\xc3\xa9") == 4);
}

TEST_CASE("a trained model on a valid set with two classes partly swapped on purpose: its mistakes are exactly "
          "the swapped files", "[interpret]") {
  TempDir t;
  write_colour_dataset(t.path());
  // 3 green images filed as blue, 2 blue ones filed as green: a model that learned the colours takes each of
  // them for what it shows, and nothing else for anything but its own class.
  const fs::path v = t / "valid";
  std::set<std::string> swapped;
  for (int i = 0; i < 3; ++i) {
    const std::string f = "green_" + std::to_string(i) + ".ppm";
    fs::rename(v / "green" / f, v / "blue" / f);
    swapped.insert(f);
  }
  for (int i = 0; i < 2; ++i) {
    const std::string f = "blue_" + std::to_string(i) + ".ppm";
    fs::rename(v / "blue" / f, v / "green" / f);
    swapped.insert(f);
  }
  auto learn = make_learner(colour_dls(t.path(), 8), tiny_net(), {}, quiet_in(t.path()));
  learn.fit_one_cycle(4, 2e-2);
  const auto interp = ClassificationInterpretation::from_learner(learn);
  const auto& vocab = interp.vocab();
  const auto at = [&](const std::string& name) {
    return static_cast<std::int64_t>(std::find(vocab.begin(), vocab.end(), name) - vocab.begin());
  };
  const std::int64_t red = at("red"), green = at("green"), blue = at("blue");
  REQUIRE(std::max({red, green, blue}) < 3);
  // rows are the label the folder gives: green holds 5 green + 2 blue images, blue 6 blue + 3 green
  std::vector<std::int64_t> expected(9, 0);
  expected[static_cast<std::size_t>(red * 3 + red)] = 8;
  expected[static_cast<std::size_t>(green * 3 + green)] = 5;
  expected[static_cast<std::size_t>(green * 3 + blue)] = 2;
  expected[static_cast<std::size_t>(blue * 3 + blue)] = 6;
  expected[static_cast<std::size_t>(blue * 3 + green)] = 3;
  const auto cm = interp.confusion_matrix();
  CHECK(std::vector<std::int64_t>(cm.data(), cm.data() + 9) == expected);
  CHECK(interp.most_confused() == std::vector<Confusion>{{"blue", "green", 3}, {"green", "blue", 2}});
  // The five largest losses are the five swapped files, and every other item's loss is smaller.
  const auto top = interp.top_losses(5);
  const auto items = learn.dls().valid.items();
  std::set<std::string> worst;
  for (const auto& r : top) worst.insert(items[static_cast<std::size_t>(r.index)].filename().string());
  CHECK(worst == swapped);
  CHECK(interp.top_losses(6)[5].loss < top[4].loss);
}
