// lr_find's window and suggestion rules against tests/fixtures/optim/lr_find.txt (make_lr_find.py: fastai's
// valley/slide/minimum/steep re-implemented in float64 numpy, checked there to choose the same index as
// fastai's float32 tensors). The suggested lr must be the very same recorded lr (same index chosen).
#include <cmath>
#include <map>

#include <fastpp/learner/lr_suggest.hpp>

#include "records.hpp"

using namespace fastpp;
using optim_test::close;
using optim_test::num;
using optim_test::nums;

TEST_CASE("lr_find_window and valley, slide, minimum, steep choose fastai's points") {
  const auto records = optim_test::read_records("lr_find.txt");
  std::vector<double> lrs, losses;
  for (const auto& r : records) {
    if (r[0] == "curve.lrs") lrs = nums(r, 1);
    if (r[0] == "curve.losses") losses = nums(r, 1);
  }
  REQUIRE(lrs.size() == 100);
  REQUIRE(losses.size() == 100);

  LrFindWindow w;
  std::string name;
  int rules = 0, cases = 0;
  for (const auto& r : records) {
    if (r[0] == "case") {
      name = r[1];
      const int num_it = std::stoi(r[2]), nan_at = std::stoi(r[3]);
      const auto n = std::stoul(r[4]);
      std::vector<double> l(lrs.begin(), lrs.begin() + static_cast<long>(n));
      std::vector<double> y(losses.begin(), losses.begin() + static_cast<long>(n));
      if (nan_at >= 0) y[static_cast<std::size_t>(nan_at)] = std::nan("");
      w = lr_find_window(l, y, num_it);
      const auto begin = std::stoul(r[5]), end = std::stoul(r[6]);
      INFO("case " << name);
      REQUIRE(w.lrs.size() == end - begin);
      REQUIRE(w.losses.size() == end - begin);
      CHECK(w.lrs.front() == l[begin]);
      CHECK(w.losses.back() == y[end - 1]);
      ++cases;
      continue;
    }
    const auto dot = r[0].find('.');
    if (dot == std::string::npos || r[0].substr(0, dot) != name) continue;
    const std::string rule = r[0].substr(dot + 1);
    INFO("case " << name << ", rule " << rule);
    LrSuggestion s{};
    std::size_t at = 1;
    if (rule == "valley") s = valley(w.lrs, w.losses);
    else if (rule == "minimum") s = minimum(w.lrs, w.losses);
    else if (rule == "steep") s = steep(w.lrs, w.losses);
    else if (rule == "slide") {
      s = slide(w.lrs, w.losses, num(r[1]), num(r[2]), num(r[3]));
      at = 4;
    } else FAIL("unknown rule " << rule);
    const auto idx = std::stoul(r[at + 3]);
    // the lr is the recorded lr at the same index (times /10 or adjust_value): exact
    CHECK(s.lr == num(r[at]));
    CHECK(s.x == num(r[at + 1]));
    CHECK(close(s.y, num(r[at + 2]), 1e-12));  // slide's y is an interpolation through log10
    if (rule != "slide") CHECK(s.x == w.lrs[idx]);
    ++rules;
  }
  CHECK(cases == 3);
  CHECK(rules == 15);
}

TEST_CASE("valley's valley from the first point wraps as Python's lrs[-1] does") {
  // two decreasing points: lds = [1, 2], max_start = -1, idx = -1 -> the last point
  const auto s = valley({1e-3, 1e-2}, {2.0, 1.0});
  CHECK(s.lr == 1e-2);
  CHECK(s.y == 1.0);
  const auto m = minimum({1e-3, 1e-2, 1e-1}, {2.0, 1.0, 1.5});
  CHECK(m.lr == 1e-2 / 10);
  CHECK(m.x == 1e-2);
  CHECK(m.y == 1.0);
}

TEST_CASE("lr_find's rules refuse too few points with a clear message") {
  CHECK_THROWS_WITH(valley({}, {}), Catch::Contains("valley: needs at least 1 recorded points, got 0"));
  CHECK_THROWS_WITH(steep({1e-3}, {1.0}), Catch::Contains("steep: needs at least 2"));
  const std::vector<double> ten_lrs(10, 1e-3), ten(10, 1.0);
  CHECK_THROWS_WITH(slide(ten_lrs, ten), Catch::Contains("slide: needs at least 16"));
  CHECK_THROWS_WITH(slide(ten_lrs, ten, 2.5), Catch::Contains("whole number"));
  CHECK_THROWS_WITH(minimum({1e-3, 1e-2}, {1.0}), Catch::Contains("2 learning rates for 1 losses"));
  // a sweep that stopped after 12 batches of num_it 100: [10 : -5] is empty
  const std::vector<double> twelve(12, 1.0);
  CHECK_THROWS_WITH(lr_find_window(twelve, twelve, 100), Catch::Contains("12 recorded"));
  // a NaN right at the window's start leaves nothing
  std::vector<double> y(30, 1.0);
  y[10] = std::nan("");
  CHECK_THROWS_WITH(lr_find_window(std::vector<double>(30, 1e-3), y, 100), Catch::Contains("NaN"));
}
