// Schedules against fastai's formulas: every record of tests/fixtures/optim/schedules.txt (made by
// make_schedules.py, which re-implements fastai's schedule.py with its float32 phase boundaries) must be
// reproduced to 1e-12 relative.
#include <fastpp/learner/optimizer.hpp>
#include <fastpp/learner/schedule.hpp>

#include "records.hpp"

using namespace fastpp;
using optim_test::close;
using optim_test::num;

namespace {
constexpr double rel = 1e-12;

sched::Schedule combine3() {  // the same three phases as make_schedules.py's combine3()
  return sched::combine({0.2, 0.5, 0.3}, {[](double p) { return sched::lin(1.0, 2.0, p); },
                                          [](double p) { return sched::cos(2.0, 0.5, p); },
                                          [](double p) { return sched::exp(0.5, 0.01, p); }});
}
}  // namespace

TEST_CASE("annealing functions, combine, one-cycle and fine_tune's phases equal fastai's numbers") {
  const auto records = optim_test::read_records("schedules.txt");
  const auto three = combine3();
  // fine_tune: freeze, one_cycle(slice(2e-3), pct 0.99, div 25), then unfreeze, one_cycle(slice(1e-5, 1e-3),
  // pct 0.3, div 5), on three groups; the per-group lr_max come from LrSpec's set_hyper rules.
  const std::vector<double> lr_max[2] = {lr_slice(2e-3).per_group(3), lr_slice(2e-3 / 2 / 100, 2e-3 / 2).per_group(3)};
  const sched::OneCycle phase[2] = {{.pct_start = 0.99}, {.div = 5, .pct_start = 0.3}};
  int counts[7] = {};
  for (const auto& r : records) {
    INFO(r[0] << " " << (r.size() > 1 ? r[1] : "") << " " << (r.size() > 2 ? r[2] : "") << " "
              << (r.size() > 3 ? r[3] : "") << " " << (r.size() > 4 ? r[4] : ""));
    const std::string& k = r[0];
    if (k == "lin" || k == "cos" || k == "no" || k == "exp") {
      const double s = num(r[1]), e = num(r[2]), p = num(r[3]), want = num(r[4]);
      const double got = k == "lin" ? sched::lin(s, e, p)
                         : k == "cos" ? sched::cos(s, e, p)
                         : k == "no"  ? sched::no(s, e, p)
                                      : sched::exp(s, e, p);
      CHECK(close(got, want, rel));
      ++counts[0];
    } else if (k == "poly") {
      CHECK(close(sched::poly(num(r[1]), num(r[2]), num(r[4]), num(r[3])), num(r[5]), rel));
      ++counts[1];
    } else if (k == "combine3") {
      CHECK(close(three(num(r[1])), num(r[2]), rel));
      ++counts[2];
    } else if (k == "one_cycle") {
      const sched::OneCycle o{.div = num(r[2]), .div_final = num(r[3]), .pct_start = num(r[4])};
      const double p = num(r[5]);
      CHECK(close(sched::one_cycle_lr(num(r[1]), o)(p), num(r[6]), rel));
      CHECK(close(sched::one_cycle_mom(o)(p), num(r[7]), rel));
      ++counts[3];
    } else if (k == "lr_max") {
      CHECK(close(lr_max[std::stoi(r[1])][std::stoul(r[2])], num(r[3]), rel));
      ++counts[4];
    } else if (k == "fine_tune") {
      const int ph = std::stoi(r[1]);
      const double p = num(r[3]);
      CHECK(close(sched::one_cycle_lr(lr_max[ph][std::stoul(r[2])], phase[ph])(p), num(r[4]), rel));
      CHECK(close(sched::one_cycle_mom(phase[ph])(p), num(r[5]), rel));
      ++counts[5];
    } else {
      FAIL("unknown record " << k);
    }
  }
  // every kind of record was there (a truncated fixture would pass silently otherwise)
  for (int i = 0; i < 6; ++i) CHECK(counts[i] > 0);
}

TEST_CASE("combine: boundaries belong to the next phase, pos 1 is the last phase's end") {
  const auto s = sched::combine({0.25, 0.75}, {[](double p) { return 10 + p; }, [](double p) { return 20 + p; }});
  CHECK(s(0.0) == 10.0);
  CHECK(s(0.25) == 20.0);  // on the boundary: phase 1 at local 0
  CHECK(s(0.125) == 10.5);
  CHECK(s(1.0) == 21.0);
  // fastai's float32 boundaries: 0.3 as float32 is 0.30000001, and pos 0.3 is rounded to it too
  const auto t = sched::combine({0.3, 0.7}, {[](double) { return 0.0; }, [](double p) { return p; }});
  CHECK(t(0.3) == 0.0);
  CHECK(t(0.2999) == 0.0);
  CHECK(t(0.31) > 0.0);
  // fit_one_cycle(3, 3e-3): starts at 1.2e-4, peaks at 3e-3 at 25%, ends at 3e-8
  const auto lr = sched::one_cycle_lr(3e-3, {});
  CHECK(close(lr(0), 1.2e-4, 1e-15));
  CHECK(close(lr(0.25), 3e-3, 1e-15));
  CHECK(close(lr(1), 3e-8, 1e-9));  // start + (end - start) cancels: fastai's own value is 3e-8 to ~1e-11
  const auto mom = sched::one_cycle_mom({});
  CHECK(close(mom(0), 0.95, 1e-15));
  CHECK(close(mom(0.25), 0.85, 1e-15));
  CHECK(close(mom(1), 0.95, 1e-15));
}

TEST_CASE("combine refuses pcts that do not sum to 1, mismatched lists and positions outside [0, 1]") {
  auto f = [](double p) { return p; };
  CHECK_THROWS_WITH(sched::combine({0.3, 0.6}, {f, f}), Catch::Contains("sum to 0.9"));
  CHECK_THROWS_WITH(sched::combine({0.5, 0.5}, {f}), Catch::Contains("2 pcts for 1 schedules"));
  CHECK_THROWS_WITH(sched::combine({1.5, -0.5}, {f, f}), Catch::Contains("must not be negative"));
  CHECK_THROWS_AS(sched::combine({}, {}), ValueError);
  const auto s = sched::combine({0.5, 0.5}, {f, f});
  CHECK_THROWS_WITH(s(-0.1), Catch::Contains("outside [0, 1]"));
  CHECK_THROWS_WITH(s(1.5), Catch::Contains("outside [0, 1]"));
  CHECK_THROWS_WITH(sched::one_cycle_lr(1e-3, {.div = 0}), Catch::Contains("must be positive"));
}
