// The generic hooks that data-parallel training (fastpp/distributed/) uses, tested without MPI: the
// after_backward event with every gradient reachable through visit_params, and a ProcessGroup through
// which validation sums are added, the table is shown and checkpoints are written by rank 0 only.
#include <catch2/catch.hpp>

#include <sstream>

#include "helpers.hpp"

using namespace fastpp;
using namespace fastpp::test;

namespace {
// A stand-in for the other ranks: each holds the same sums as this one, so sum() doubles them.
struct FakeGroup final : ProcessGroup {
  int my_rank = 0;
  int sums = 0, barriers = 0;
  int rank() const override { return my_rank; }
  int size() const override { return 2; }
  void sum(double* v, std::size_t n) override {
    ++sums;
    for (std::size_t i = 0; i < n; ++i) v[i] *= 2.0;
  }
  void barrier() override { ++barriers; }
};

std::vector<float> hook_test_params(LearnerBase& l) {
  std::vector<float> out;
  l.visit_params([&](const std::string&, float* v, float*, std::int64_t n) { out.insert(out.end(), v, v + n); });
  return out;
}
}  // namespace

TEST_CASE("after_backward sees the whole gradient before the step", "[learner]") {
  TempDir t;
  write_colour_dataset(t.path(), 4, 2);
  auto learn = make_learner<SGD>(colour_dls(t.path(), 4), tiny_net(), {}, quiet_in(t.path()));
  const auto before = hook_test_params(learn);
  double seen = 0.0;
  int calls = 0;
  struct ZeroGrads final : Callback {
    double* seen;
    int* calls;
    std::string name() const override { return "ZeroGrads"; }
    void after_backward(LearnerBase& l) override {
      ++*calls;
      l.visit_params([&](const std::string&, float*, float* g, std::int64_t n) {
        REQUIRE(g != nullptr);  // nothing is frozen here
        for (std::int64_t i = 0; i < n; ++i) {
          *seen += std::abs(g[i]);
          g[i] = 0.0f;  // what the step then reads: the parameters must not move
        }
      });
    }
  };
  auto cb = std::make_shared<ZeroGrads>();
  cb->seen = &seen;
  cb->calls = &calls;
  FitOptions o;
  o.cbs = {cb};
  learn.fit(1, 0.1, o);
  CHECK(calls == learn.dls().train.n_batches());
  CHECK(seen > 0.0);
  CHECK(bit_equal(hook_test_params(learn), before));
}

TEST_CASE("a process group: validation sums added over ranks, rank 0 alone prints and saves", "[learner]") {
  TempDir t;
  write_colour_dataset(t.path(), 4, 3);
  std::ostringstream table;
  LearnerOptions o = quiet_in(t.path());
  o.progress = Progress::table;
  o.out = &table;
  auto learn = make_learner(colour_dls(t.path(), 4), tiny_net(), metrics(error_rate), o);
  const auto alone = learn.validate();
  auto group = std::make_shared<FakeGroup>();
  group->my_rank = 1;
  learn.set_process_group(group);
  CHECK_FALSE(learn.is_main_process());
  // n, the loss sum and the metric sums all doubled: the same averages, through one sum()
  const auto reduced = learn.validate();
  CHECK(group->sums == 1);
  REQUIRE(reduced.size() == alone.size());
  for (std::size_t i = 0; i < reduced.size(); ++i) CHECK(reduced[i] == Approx(alone[i]).epsilon(1e-12));

  learn.fit(1, 1e-3);
  CHECK(table.str().empty());  // no table on rank 1
  CHECK_FALSE(fs::exists(learn.save("r1")));
  CHECK(group->barriers == 1);

  group->my_rank = 0;
  CHECK(fs::exists(learn.save("r0")));
  CHECK(group->barriers == 2);
  learn.fit(1, 1e-3);
  CHECK_FALSE(table.str().empty());
}

TEST_CASE("visit_params gives no gradient for a frozen parameter, so nothing averages it", "[learner]") {
  TempDir t;
  write_colour_dataset(t.path(), 4, 2);
  auto learn = make_learner<SGD>(colour_dls(t.path(), 4), tiny_net(), {}, quiet_in(t.path()));
  std::string first;
  learn.model().for_each_param([&](const std::string& name, nn::Param& p) {
    if (first.empty()) {
      first = name;
      p.frozen = true;
    }
  });
  int with_grad = 0, without = 0;
  learn.visit_params([&](const std::string& name, float* v, float* g, std::int64_t) {
    CHECK(v != nullptr);
    if (name == first) CHECK(g == nullptr);
    (g ? with_grad : without)++;
  });
  CHECK(without == 1);
  CHECK(with_grad > 0);
}
