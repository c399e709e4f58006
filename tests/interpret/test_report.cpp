// The training report: the tiny colour learner runs lr_find and fine_tune (two fits) with an HtmlReport,
// and the page is read back as a browser would get it (a strict parser: every element closed, attributes
// quoted) section by section: the epoch table holds the numbers the learner recorded, digit for digit;
// every figure is an SVG data: URI that parses and shows what the interpretation computes; the page is
// rewritten after every epoch and reloads itself until the run is finished.
#include <catch2/catch.hpp>

#include <fastpp/interpret.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "../learner/helpers.hpp"
#include "svg_check.hpp"

using namespace fastpp;
using namespace fastpp::test;

namespace {
// The SVG text behind an <img> of the report.
std::string img_svg(const SvgElement& img) {
  const std::string prefix = "data:image/svg+xml;base64,";
  const std::string src = img.attr("src");
  if (src.rfind(prefix, 0) != 0) throw std::runtime_error("report: an image is not an inline SVG: " + src.substr(0, 40));
  return base64_decode(src.substr(prefix.size()));
}
const SvgElement& by_id(const std::vector<SvgElement>& els, const std::string& id) {
  for (const auto& e : els)
    if (e.attr("id") == id) return e;
  throw std::runtime_error("report: no element with id " + id);
}
// The report's figures of one kind (each <img> carries its kind in its class).
std::vector<SvgElement> figures(const std::vector<SvgElement>& els, const std::string& cls) {
  std::vector<SvgElement> out;
  for (const auto& e : els)
    if (e.name == "img" && e.has_class(cls)) out.push_back(e);
  return out;
}
LrFindOptions short_sweep() {
  LrFindOptions o;
  o.num_it = 40;
  return o;
}
std::string fixed6(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

// Reads the page after each epoch the report wrote (it runs after the report: order 95), and keeps
// what the learner says of that epoch.
struct Probe final : Callback {
  fs::path file;
  std::vector<std::vector<double>> values;
  std::vector<double> seconds;
  std::vector<std::size_t> rows_seen;
  std::vector<bool> reloads;
  explicit Probe(fs::path f) : file(std::move(f)) {}
  std::string name() const override { return "Probe"; }
  int order() const override { return 95; }
  void after_epoch(LearnerBase& l) override {
    if (l.state.epoch_values.size() < 2) return;
    values.push_back(l.state.epoch_values);
    seconds.push_back(l.state.epoch_seconds);
    const std::string page = read_text(file);
    const auto els = parse_xml(page, "html");
    rows_seen.push_back(with_class(els, "epoch").size());
    reloads.push_back(page.find("http-equiv=\"refresh\"") != std::string::npos);
  }
};

}  // namespace

TEST_CASE("HtmlReport: the page after lr_find and fine_tune holds every section and the recorded numbers", "[interpret][report]") {
  TempDir t;
  write_colour_dataset(t.path());
  auto learn = make_learner(colour_dls(t.path(), 8), tiny_net(), metrics(error_rate, accuracy), quiet_in(t.path()));
  const fs::path page = t.path() / "report.html";
  auto report = add_html_report(learn, page, {.title = "colours <&> test"});
  auto probe = std::make_shared<Probe>(page);
  learn.add_cb(probe);
  REQUIRE(fs::exists(page));  // written at once, before any training

  const auto found = learn.lr_find(short_sweep());
  report->lr_find(found, found.valley.lr);
  learn.fine_tune(2, 1e-2);

  // Rewritten after every epoch: the page the probe read held that epoch's row, and asked to reload.
  REQUIRE(probe->values.size() == 3);  // one frozen epoch, then two
  CHECK(probe->rows_seen == std::vector<std::size_t>{1, 2, 3});
  CHECK(probe->reloads == std::vector<bool>{true, true, true});

  report->finish();
  const std::string html = read_text(page);
  const auto els = parse_xml(html, "html");
  CHECK(html.find("http-equiv=\"refresh\"") == std::string::npos);  // finished: no more reloading
  CHECK(by_id(els, "status").text == "finished");
  CHECK(named(els, "title").at(0).text == "colours <&> test");  // escaped, read back intact
  for (const char* id : {"summary", "data", "lr-find", "epochs", "loss", "schedule", "confusion", "top-losses", "machine"})
    CHECK_NOTHROW(by_id(els, id));

  // No reference outside the file: every src is a data: URI, no link or script.
  for (const auto& e : els) {
    if (!e.attr("src").empty()) CHECK(e.attr("src").rfind("data:", 0) == 0);
    CHECK(e.attr("href").empty());
    CHECK(e.name != "script");
    CHECK(e.name != "link");
  }

  // Data: the split sizes and classes of the loaders.
  CHECK(by_id(els, "n-classes").text == "3");
  CHECK(by_id(els, "n-train").text == std::to_string(learn.dls().train.n_items()));
  CHECK(by_id(els, "n-valid").text == std::to_string(learn.dls().valid.n_items()));
  const auto batch = parse_svg(img_svg(figures(els, "show-batch").at(0)));
  CHECK(named(batch, "image").size() == static_cast<std::size_t>(std::min<std::int64_t>(16, learn.dls().train.bs())));

  // lr_find: its figure (interpret's, with ticks and the four suggestions) and the rate chosen.
  const auto lr = parse_svg(img_svg(figures(els, "lr-find").at(0)));
  CHECK(with_class(lr, "suggestion").size() == 4);
  CHECK(polyline_points(with_class(lr, "lr-find").at(0)) == found.lrs.size());
  CHECK(std::stod(by_id(els, "chosen-lr").attr("data-value")) == found.valley.lr);

  // The epoch table: one row per validated epoch of both fits (lr_find's sweep is not one), each value
  // exactly what the learner recorded, shown as the progress table prints it.
  const auto rows = with_class(els, "epoch");
  REQUIRE(rows.size() == 3);
  CHECK(report->epochs().size() == 3);
  const auto cells = with_class(els, "value");
  REQUIRE(cells.size() == 3 * 4);  // train_loss, valid_loss, error_rate, accuracy
  const std::vector<std::string> cols{"train_loss", "valid_loss", "error_rate", "accuracy"};
  for (std::size_t e = 0; e < 3; ++e)
    for (std::size_t c = 0; c < 4; ++c) {
      const auto& cell = cells[e * 4 + c];
      CHECK(cell.attr("data-column") == cols[c]);
      CHECK(std::stod(cell.attr("data-value")) == probe->values[e][c]);
      CHECK(cell.text == fixed6(probe->values[e][c]));
    }
  // The last fit's rows are the recorder's (it holds only the last fit).
  const auto& rec = learn.recorder();
  REQUIRE(rec.values.size() == 2);
  for (std::size_t e = 0; e < 2; ++e)
    for (std::size_t c = 0; c < 4; ++c) CHECK(std::stod(cells[(e + 1) * 4 + c].attr("data-value")) == rec.values[e][c]);
  CHECK(report->epochs()[0].fit == 1);
  CHECK(report->epochs()[2].fit == 2);
  for (std::size_t e = 0; e < 3; ++e) CHECK(report->epochs()[e].seconds == probe->seconds[e]);

  // Loss and schedule: every training batch of both fits, none of lr_find's.
  const std::size_t iters = static_cast<std::size_t>(3 * learn.dls().train.n_batches());
  REQUIRE(report->history().losses.size() == iters);
  CHECK(report->history().lrs.size() == iters);
  const auto loss = parse_svg(img_svg(figures(els, "loss").at(0)));
  CHECK(polyline_points(with_class(loss, "train-loss").at(0)) == iters - 5);
  CHECK(with_class(loss, "valid-point").size() == 3);
  const auto sched = parse_svg(img_svg(figures(els, "schedule").at(0)));
  CHECK(polyline_points(with_class(sched, "lr").at(0)) == iters);
  // The last fit's batches are the recorder's, in order.
  CHECK(std::equal(rec.losses.begin(), rec.losses.end(), report->history().losses.end() - static_cast<std::ptrdiff_t>(rec.losses.size())));

  // Confusion matrix, most_confused, classification report: the trained model's, as from_learner says.
  const auto interp = ClassificationInterpretation::from_learner(learn);
  const auto cm = interp.confusion_matrix();
  const auto cm_svg = parse_svg(img_svg(figures(els, "confusion-matrix").at(0)));
  const auto cell_els = with_class(cm_svg, "cell");
  REQUIRE(cell_els.size() == 9);
  for (const auto& c : cell_els)
    CHECK(std::stoll(c.attr("data-value")) ==
          cm.data()[std::stoll(c.attr("data-actual")) * 3 + std::stoll(c.attr("data-predicted"))]);
  CHECK(by_id(els, "classification-report").text == interp.classification_report());

  // Top losses: the figure's captions are the interpretation's worst items.
  const auto top = parse_svg(img_svg(figures(els, "top-losses").at(0)));
  const auto captions = with_class(top, "caption");
  const auto worst = interp.top_losses(9);
  REQUIRE(captions.size() == worst.size());
  for (std::size_t k = 0; k < worst.size(); ++k) CHECK(captions[k].text == ClassificationInterpretation::caption(worst[k]));
  CHECK(named(top, "image").size() == worst.size());

  // Machine: threads as fastpp runs them, and a stated ISA and BLAS.
  CHECK(by_id(els, "threads").text == std::to_string(get_num_threads()));
  CHECK_FALSE(by_id(els, "isa").text.empty());
  CHECK_FALSE(by_id(els, "blas").text.empty());
  CHECK(by_id(els, "time-per-epoch").text.find("over 3 epochs") != std::string::npos);
}

TEST_CASE("HtmlReport: most_confused table rows are the interpretation's", "[interpret][report]") {
  TempDir t;
  write_colour_dataset(t.path());
  auto learn = make_learner(colour_dls(t.path(), 8), tiny_net(), metrics(error_rate), quiet_in(t.path()));
  learn.fit_one_cycle(1, 1e-3);  // barely trained: it still confuses colours
  const fs::path page = t.path() / "r.html";
  write_report(learn, page, {}, 0, {.most_confused_min = 0, .most_confused_rows = 100});
  const auto els = parse_xml(read_text(page), "html");
  const auto interp = ClassificationInterpretation::from_learner(learn);
  // The rows of the most-confused table: three cells each (actual, predicted, count).
  std::vector<SvgElement> tds;
  bool in_table = false;
  for (const auto& e : els) {
    if (e.name == "table") in_table = e.attr("id") == "most-confused-table";
    else if (in_table && e.name == "td") tds.push_back(e);
  }
  const auto mc = interp.most_confused(0);
  REQUIRE(tds.size() == 3 * mc.size());
  for (std::size_t i = 0; i < mc.size(); ++i) {
    CHECK(tds[3 * i].text == mc[i].actual);
    CHECK(tds[3 * i + 1].text == mc[i].predicted);
    CHECK(tds[3 * i + 2].text == std::to_string(mc[i].count));
  }
}

TEST_CASE("write_report: once, from the recorder, and its lr_find section says it was not run", "[interpret][report]") {
  TempDir t;
  write_colour_dataset(t.path());
  auto learn = make_learner(colour_dls(t.path(), 8), tiny_net(), metrics(error_rate), quiet_in(t.path()));
  const fs::path page = t.path() / "once.html";
  // Before any training: a page that says so, with no figure of training.
  write_report(learn, page);
  auto els = parse_xml(read_text(page), "html");
  CHECK(with_class(els, "epoch").empty());
  CHECK(figures(els, "loss").empty());
  CHECK(by_id(els, "status").text == "finished");

  learn.fit_one_cycle(2, 1e-2);
  write_report(learn, page);
  els = parse_xml(read_text(page), "html");
  const auto cells = with_class(els, "value");
  const auto& rec = learn.recorder();
  REQUIRE(cells.size() == 2 * 3);
  for (std::size_t e = 0; e < 2; ++e)
    for (std::size_t c = 0; c < 3; ++c) CHECK(std::stod(cells[e * 3 + c].attr("data-value")) == rec.values[e][c]);
  bool said = false;
  for (const auto& e : els)
    if (e.name == "p" && e.text.find("lr_find was not run") != std::string::npos) said = true;
  CHECK(said);
  CHECK(figures(els, "confusion-matrix").size() == 1);
  CHECK_THROWS_WITH(write_report(learn, t.path() / "no_such_dir" / "x.html"), Catch::Contains("no_such_dir"));
}

// Not a check on its own: writes a finished report and the numbers its epoch table must show, for
// check_report_chromium.py (CTest interpret:report_in_chromium), which opens the page in headless
// Chromium. Hidden ("[.]") so a plain run skips it; it needs FASTPP_REPORT_PAGE_DIR.
TEST_CASE("report page for the browser", "[.browser]") {
  const char* dir_env = std::getenv("FASTPP_REPORT_PAGE_DIR");
  REQUIRE(dir_env != nullptr);
  const fs::path dir = dir_env;
  fs::create_directories(dir / "data");
  write_colour_dataset(dir / "data");
  auto learn = make_learner(colour_dls(dir / "data", 8), tiny_net(), metrics(error_rate, accuracy), quiet_in(dir));
  auto report = add_html_report(learn, dir / "report.html");
  const auto found = learn.lr_find(short_sweep());
  report->lr_find(found, found.valley.lr);
  learn.fine_tune(2, 1e-2);
  report->finish();
  // What the table must show, one line per epoch: the cells' text, tab separated.
  std::ofstream expected(dir / "expected_rows.tsv");
  for (const auto& e : report->epochs()) {
    for (std::size_t c = 0; c < e.values.size(); ++c) expected << (c ? "\t" : "") << fixed6(e.values[c]);
    expected << "\n";
  }
  REQUIRE(expected.good());
}
