// ClassificationInterpretation on hand-made predictions with known mistakes: green and blue are partly
// swapped on purpose (and one red taken for blue), so the confusion matrix, most_confused and top_losses
// have exactly known entries. The classification report is compared with scikit-learn's layout and
// numbers (tests/fixtures/interpret/classification_report.txt and its generator).
#include <catch2/catch.hpp>

#include <fastpp/interpret/classification.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "svg_check.hpp"

using namespace fastpp;
using fastpp::test::parse_svg;
using fastpp::test::with_class;

namespace {

struct Row {
  std::int64_t target;
  float p[3];
};
// Class 0 red, 1 green, 2 blue. The argmax of each row is its prediction.
const std::vector<Row> kRows = {
    {0, {0.9f, 0.05f, 0.05f}},  // 0 red   -> red
    {0, {0.8f, 0.1f, 0.1f}},    // 1 red   -> red
    {0, {0.7f, 0.2f, 0.1f}},    // 2 red   -> red
    {1, {0.1f, 0.3f, 0.6f}},    // 3 green -> blue   loss -log 0.3
    {1, {0.05f, 0.15f, 0.8f}},  // 4 green -> blue   loss -log 0.15
    {1, {0.1f, 0.8f, 0.1f}},    // 5 green -> green
    {1, {0.2f, 0.6f, 0.2f}},    // 6 green -> green  loss -log 0.6 (tie with rows 9 and 10)
    {2, {0.0f, 0.95f, 0.05f}},  // 7 blue  -> green  loss -log 0.05, the largest
    {2, {0.1f, 0.1f, 0.8f}},    // 8 blue  -> blue
    {2, {0.2f, 0.2f, 0.6f}},    // 9 blue  -> blue   loss -log 0.6
    {2, {0.3f, 0.1f, 0.6f}},    // 10 blue -> blue   loss -log 0.6
    {2, {0.1f, 0.5f, 0.4f}},    // 11 blue -> green  loss -log 0.4
    {0, {0.2f, 0.1f, 0.7f}},    // 12 red  -> blue   loss -log 0.2
};

ClassificationInterpretation make_interp(std::vector<std::int64_t> idxs = {},
                                         ClassificationInterpretation::ImageLoader images = {},
                                         std::vector<std::string> vocab = {"red", "green", "blue"}) {
  const auto n = static_cast<std::int64_t>(kRows.size());
  auto probs = Tensor<float>::empty({n, 3});
  auto targets = Tensor<std::int64_t>::empty({n});
  for (std::int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < 3; ++j) probs.data()[i * 3 + j] = kRows[static_cast<std::size_t>(i)].p[j];
    targets.data()[i] = kRows[static_cast<std::size_t>(i)].target;
  }
  return ClassificationInterpretation(probs, targets, std::move(vocab), {}, std::move(idxs), std::move(images));
}

}  // namespace

TEST_CASE("confusion_matrix counts rows actual and columns predicted", "[interpret]") {
  const auto interp = make_interp();
  const auto cm = interp.confusion_matrix();
  REQUIRE(cm.shape() == Shape{3, 3});
  const std::int64_t expected[9] = {3, 0, 1,   // red: 3 right, 1 taken for blue
                                    0, 2, 2,   // green: 2 right, 2 taken for blue
                                    0, 2, 3};  // blue: 2 taken for green, 3 right
  for (int k = 0; k < 9; ++k) CHECK(cm.data()[k] == expected[k]);
  CHECK(interp.decoded() == std::vector<std::int64_t>{0, 0, 0, 2, 2, 1, 1, 1, 2, 2, 2, 1, 2});
}

TEST_CASE("most_confused sorts by count, equal counts in row-major order, and honours min_val", "[interpret]") {
  const auto interp = make_interp();
  // green->blue and blue->green both count 2: row-major order puts green->blue first.
  const std::vector<Confusion> all = {{"green", "blue", 2}, {"blue", "green", 2}, {"red", "blue", 1}};
  CHECK(interp.most_confused() == all);
  CHECK(interp.most_confused(2) == std::vector<Confusion>(all.begin(), all.begin() + 2));
  CHECK(interp.most_confused(3).empty());
  // min_val 0 takes every cell, as fastai does (it zeroes the diagonal, then keeps cells >= min_val): the
  // zeros follow in row-major order, the diagonal's among them.
  const auto zero = interp.most_confused(0);
  REQUIRE(zero.size() == 9);
  const std::vector<Confusion> zeros = {{"red", "red", 0},     {"red", "green", 0}, {"green", "red", 0},
                                        {"green", "green", 0}, {"blue", "red", 0},  {"blue", "blue", 0}};
  CHECK(std::vector<Confusion>(zero.begin() + 3, zero.end()) == zeros);

  // A larger count later in row-major order comes first: one more blue taken for green.
  auto probs = interp.probs().clone();
  probs.data()[8 * 3 + 1] = 0.9f;  // row 8 now blue -> green
  const ClassificationInterpretation more(probs, interp.targets(), interp.vocab());
  const std::vector<Confusion> expect_more = {{"blue", "green", 3}, {"green", "blue", 2}, {"red", "blue", 1}};
  CHECK(more.most_confused() == expect_more);
}

TEST_CASE("top_losses gives loss, dataset index, predicted, actual and the predicted class's probability", "[interpret]") {
  // Dataset positions in reverse, so index and row differ.
  std::vector<std::int64_t> idxs(kRows.size());
  for (std::size_t i = 0; i < idxs.size(); ++i) idxs[i] = static_cast<std::int64_t>(idxs.size() - 1 - i);
  const auto interp = make_interp(idxs);
  const auto top = interp.top_losses(5);
  REQUIRE(top.size() == 5);
  const std::int64_t rows[5] = {7, 4, 12, 3, 11};
  const double p_actual[5] = {0.05, 0.15, 0.2, 0.3, 0.4};
  const std::int64_t pred[5] = {1, 2, 2, 2, 1}, act[5] = {2, 1, 0, 1, 2};
  const double p_pred[5] = {0.95, 0.8, 0.7, 0.6, 0.5};
  for (int k = 0; k < 5; ++k) {
    INFO("rank " << k);
    CHECK(top[k].row == rows[k]);
    CHECK(top[k].index == 12 - rows[k]);
    CHECK(top[k].loss == Approx(-std::log(p_actual[k])).epsilon(1e-6));
    CHECK(top[k].predicted == pred[k]);
    CHECK(top[k].actual == act[k]);
    CHECK(top[k].predicted_label == interp.vocab()[static_cast<std::size_t>(pred[k])]);
    CHECK(top[k].actual_label == interp.vocab()[static_cast<std::size_t>(act[k])]);
    CHECK(top[k].probability == Approx(p_pred[k]).epsilon(1e-6));
  }
  CHECK(ClassificationInterpretation::caption(top[0]) == "green/blue / 3.00 / 0.95");

  // All of them, largest first; the three equal losses -log 0.6 (rows 6, 9, 10) keep their order.
  const auto all = interp.top_losses();
  REQUIRE(all.size() == kRows.size());
  for (std::size_t k = 1; k < all.size(); ++k) CHECK(all[k - 1].loss >= all[k].loss);
  CHECK(all[5].row == 6);
  CHECK(all[6].row == 9);
  CHECK(all[7].row == 10);
  // Smallest first: the most confident right answer is row 0 (-log 0.9).
  const auto least = interp.top_losses(2, false);
  CHECK(least[0].row == 0);
  CHECK(least[1].row == 1);  // -log 0.8, as rows 5 and 8: the first of the ties
}

TEST_CASE("given losses are used as they are, not recomputed", "[interpret]") {
  const auto base = make_interp();
  auto losses = Tensor<float>::empty({base.n_rows()});
  for (std::int64_t i = 0; i < base.n_rows(); ++i) losses.data()[i] = static_cast<float>(i);  // row 12 largest
  const ClassificationInterpretation interp(base.probs(), base.targets(), base.vocab(), losses);
  const auto top = interp.top_losses(2);
  CHECK(top[0].row == 12);
  CHECK(top[0].loss == 12.0);
  CHECK(top[1].row == 11);
}

TEST_CASE("the constructor names what is inconsistent", "[interpret]") {
  const auto base = make_interp();
  CHECK_THROWS_AS(ClassificationInterpretation(base.probs(), base.targets(), {"a", "b"}), ShapeError);
  auto bad = base.targets().clone();
  bad.data()[3] = 3;
  CHECK_THROWS_WITH(ClassificationInterpretation(base.probs(), bad, base.vocab()),
                    Catch::Contains("target 3 of row 3"));
  CHECK_THROWS_AS(ClassificationInterpretation(base.probs(), base.targets(), base.vocab(), Tensor<float>::zeros({2})),
                  ShapeError);
  CHECK_THROWS_AS(ClassificationInterpretation(base.probs(), base.targets(), base.vocab(), {}, {1, 2}), ShapeError);
}

TEST_CASE("classification_report matches scikit-learn's text character for character", "[interpret]") {
  std::ifstream in(std::string(FASTPP_TEST_DATA_DIR) + "/fixtures/interpret/classification_report.txt");
  REQUIRE(in.good());
  std::string line;
  int cases = 0;
  while (std::getline(in, line)) {
    std::istringstream head(line);
    std::string word;
    int digits = 0, c = 0, n = 0, lines = 0;
    head >> word >> digits >> c >> n >> lines;
    REQUIRE(word == "case");
    std::vector<std::string> vocab(static_cast<std::size_t>(c));
    for (auto& v : vocab) std::getline(in, v);
    auto read_ints = [&] {
      std::getline(in, line);
      std::istringstream s(line);
      std::vector<std::int64_t> v;
      std::int64_t x;
      while (s >> x) v.push_back(x);
      return v;
    };
    const auto targets = read_ints(), preds = read_ints();
    REQUIRE(static_cast<int>(targets.size()) == n);
    std::string expected;
    for (int k = 0; k < lines; ++k) {
      std::getline(in, line);
      expected += line + "\n";
    }
    // Probabilities whose argmax is the prediction.
    auto probs = Tensor<float>::full({n, c}, 0.1f / static_cast<float>(c));
    auto t = Tensor<std::int64_t>::empty({n});
    for (int i = 0; i < n; ++i) {
      probs.data()[i * c + preds[static_cast<std::size_t>(i)]] = 0.9f;
      t.data()[i] = targets[static_cast<std::size_t>(i)];
    }
    const ClassificationInterpretation interp(probs, t, vocab);
    INFO("case " << cases);
    CHECK(interp.classification_report(digits) == expected);
    std::ostringstream printed;
    interp.print_classification_report(printed, digits);
    CHECK(printed.str() == expected + "\n");
    ++cases;
  }
  CHECK(cases == 3);
}

TEST_CASE("plot_confusion_matrix: one cell per class pair holding its count, names on both axes, a colour scale", "[interpret]") {
  const auto interp = make_interp({}, {}, {"red", "green", "blue <&>"});
  const auto els = parse_svg(interp.confusion_matrix_svg());
  const auto cm = interp.confusion_matrix();
  const auto cells = with_class(els, "cell");
  REQUIRE(cells.size() == 9);
  for (const auto& e : cells) {
    const auto a = std::stoll(e.attr("data-actual")), p = std::stoll(e.attr("data-predicted"));
    CHECK(std::stoll(e.attr("data-value")) == cm.data()[a * 3 + p]);
  }
  const auto texts = with_class(els, "cell-text");
  REQUIRE(texts.size() == 9);
  for (std::size_t k = 0; k < 9; ++k) CHECK(texts[k].text == std::to_string(cm.data()[k]));
  // The largest count is drawn in white on the darkest blue.
  CHECK(texts[8].attr("fill") == "white");
  CHECK(cells[8].attr("fill") == "#08306b");
  CHECK(texts[1].attr("fill").empty());  // black, the default
  for (const char* axis : {"xtick-label", "ytick-label"}) {
    const auto labels = with_class(els, axis);
    REQUIRE(labels.size() == 3);
    CHECK(labels[2].text == "blue <&>");  // escaped in the file, read back intact
  }
  CHECK(with_class(els, "xtick-label")[0].attr("transform").find("rotate(-90") == 0);
  CHECK(with_class(els, "xlabel").at(0).text == "Predicted");
  CHECK(with_class(els, "ylabel").at(0).text == "Actual");
  CHECK(with_class(els, "title").at(0).text == "Confusion matrix");
  CHECK(with_class(els, "colour-scale").size() == 1);
  CHECK(with_class(els, "scale-label").size() >= 2);

  // Normalized: each row's shares sum to 1, shown with norm_dec decimals.
  const auto norm = parse_svg(interp.confusion_matrix_svg({.normalize = true, .title = "shares", .norm_dec = 3}));
  const auto ncells = with_class(norm, "cell");
  REQUIRE(ncells.size() == 9);
  for (int a = 0; a < 3; ++a) {
    double s = 0;
    for (int p = 0; p < 3; ++p) s += std::stod(ncells[static_cast<std::size_t>(a * 3 + p)].attr("data-value"));
    CHECK(s == Approx(1.0).margin(1e-5));
  }
  CHECK(with_class(norm, "cell-text")[0].text == "0.750");  // red: 3 of 4 right
  CHECK(with_class(norm, "title").at(0).text == "shares");
}

TEST_CASE("plot_confusion_matrix stays readable with 37 classes: the canvas grows with the class count", "[interpret]") {
  const std::int64_t c = 37, n = 370;
  auto probs = Tensor<float>::full({n, c}, 0.01f);
  auto t = Tensor<std::int64_t>::empty({n});
  std::vector<std::string> vocab;
  for (std::int64_t k = 0; k < c; ++k) vocab.push_back("breed_number_" + std::to_string(k));
  for (std::int64_t i = 0; i < n; ++i) {
    t.data()[i] = i % c;
    probs.data()[i * c + (i % 7 == 0 ? (i + 1) % c : i % c)] = 0.9f;  // every 7th item confused with the next class
  }
  const ClassificationInterpretation interp(probs, t, vocab);
  const auto doc = interp.confusion_matrix_svg();
  const auto els = parse_svg(doc);
  CHECK(with_class(els, "cell").size() == static_cast<std::size_t>(c * c));
  CHECK(with_class(els, "xtick-label").size() == static_cast<std::size_t>(c));
  const auto svg = els.front();
  // Cells at least 20 px apart and labels no larger than a cell, so neither overlaps.
  CHECK(std::stod(svg.attr("width")) >= 20.0 * c);
  const auto c0 = with_class(els, "cell")[0], c1 = with_class(els, "cell")[1];
  const double step = std::stod(c1.attr("x")) - std::stod(c0.attr("x"));
  CHECK(step >= 20.0);
  CHECK(std::stod(with_class(els, "xtick-label")[0].attr("font-size")) <= step);
  // The labels fit on the canvas: the longest rotated name ends above the bottom edge.
  const double bottom = std::stod(svg.attr("height"));
  const auto lbl = with_class(els, "xtick-label").back();
  CHECK(std::stod(lbl.attr("y")) + 0.6 * 12 * 16 < bottom);
}

TEST_CASE("plot_top_losses: the k worst items' images, captioned as fastai does", "[interpret]") {
  // An image per dataset index whose size and pixels say which index it is.
  auto loader = [](std::int64_t i) {
    auto img = Tensor<std::uint8_t>::empty({4 + i, 6, 3});
    for (std::int64_t k = 0; k < img.numel(); ++k) img.data()[k] = static_cast<std::uint8_t>(i * 10 + k % 3);
    return img;
  };
  const auto interp = make_interp({}, loader);
  const auto els = parse_svg(interp.top_losses_svg(4));
  CHECK(with_class(els, "title").at(0).text == "Prediction/Actual/Loss/Probability");
  const auto items = with_class(els, "item");
  REQUIRE(items.size() == 4);
  const auto captions = with_class(els, "caption");
  const auto images = fastpp::test::named(els, "image");
  REQUIRE(captions.size() == 4);
  REQUIRE(images.size() == 4);
  const auto top = interp.top_losses(4);
  for (std::size_t k = 0; k < 4; ++k) {
    CHECK(captions[k].text == ClassificationInterpretation::caption(top[k]));
    CHECK(std::stoll(items[k].attr("data-index")) == top[k].index);
    const Image img = fastpp::test::decode_data_png(images[k].attr("xlink:href"));
    const auto want = loader(top[k].index);
    REQUIRE(img.shape() == want.shape());
    CHECK(std::equal(img.data(), img.data() + img.numel(), want.data()));
  }
  CHECK(captions[0].text == "green/blue / 3.00 / 0.95");
  CHECK(captions[1].text == "blue/green / 1.90 / 0.80");

  const auto tmp = std::filesystem::temp_directory_path() / ("fastpp_interp_top_" + std::to_string(::getpid()) + ".svg");
  interp.plot_top_losses(2, tmp, {.largest = false});
  std::ifstream f(tmp);
  std::stringstream ss;
  ss << f.rdbuf();
  CHECK(with_class(parse_svg(ss.str()), "item").size() == 2);
  std::filesystem::remove(tmp);

  // Made from raw predictions without images: a clear refusal.
  CHECK_THROWS_WITH(make_interp().top_losses_svg(3), Catch::Contains("has no images"));
}

TEST_CASE("plot_top_losses with ranks: a list or range of positions in the loss order, as fastai's k", "[interpret]") {
  auto loader = [](std::int64_t i) {
    auto img = Tensor<std::uint8_t>::empty({3, 3, 3});
    for (std::int64_t k = 0; k < img.numel(); ++k) img.data()[k] = static_cast<std::uint8_t>(i);
    return img;
  };
  const auto interp = make_interp({}, loader);
  const auto all = interp.top_losses();
  CHECK(rank_range(2, 5) == std::vector<std::int64_t>{2, 3, 4});
  CHECK(rank_range(3, 3).empty());
  CHECK_THROWS_WITH(rank_range(4, 2), Catch::Contains("0 <= first <= last"));

  // Ranks in the order given, each the row top_losses puts at that position.
  const std::vector<std::int64_t> ranks{4, 0, 7};
  const auto picked = interp.top_losses_at(ranks);
  REQUIRE(picked.size() == 3);
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(picked[k].row == all[static_cast<std::size_t>(ranks[k])].row);
    CHECK(picked[k].loss == all[static_cast<std::size_t>(ranks[k])].loss);
  }
  // largest = false counts ranks from the smallest loss.
  CHECK(interp.top_losses_at({0}, false)[0].row == interp.top_losses(-1, false)[0].row);

  const auto els = parse_svg(interp.top_losses_svg(rank_range(2, 5)));
  const auto items = with_class(els, "item");
  const auto captions = with_class(els, "caption");
  REQUIRE(items.size() == 3);
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(std::stoll(items[k].attr("data-rank")) == static_cast<std::int64_t>(k + 2));
    CHECK(std::stoll(items[k].attr("data-index")) == all[k + 2].index);
    CHECK(captions[k].text == ClassificationInterpretation::caption(all[k + 2]));
  }
  // plot_top_losses(k) is ranks 0..k-1.
  const auto first = with_class(parse_svg(interp.top_losses_svg(2)), "item");
  REQUIRE(first.size() == 2);
  CHECK(first[1].attr("data-rank") == "1");
  CHECK(first[1].attr("data-index") == std::to_string(all[1].index));

  CHECK_THROWS_WITH(interp.top_losses_at({13}), Catch::Contains("rank 13 is outside 0..12"));
  CHECK_THROWS_WITH(interp.top_losses_svg(std::vector<std::int64_t>{}), Catch::Contains("no rank to show"));
}
