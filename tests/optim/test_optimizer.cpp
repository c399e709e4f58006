// The optimizers against a float64 reference (tests/fixtures/optim/optim_steps.txt, make_optim_steps.py:
// fastai's Adam and SGD callbacks, five steps with per-step lr and mom per group), and what the Learner
// relies on: frozen params stay put, clear_state, LrSpec's set_hyper rules, no allocation after the first
// step, state by stable names, and the device seam (every kernel call goes through optim_kernels<D>).
#include <cstring>
#include <deque>
#include <map>
#include <memory>

#include <fastpp/learner/optimizer.hpp>
#include <fastpp/nn.hpp>

#include "../nn/counting_device.hpp"
#include "batched_device.hpp"
#include "records.hpp"

using namespace fastpp;
using optim_test::close;
using optim_test::num;
using optim_test::nums;

namespace {

static_assert(Optimizer<AdamOn<seam::counting>> && Optimizer<SgdOn<seam::counting>>);
static_assert(!std::is_copy_constructible_v<Adam> && std::is_move_constructible_v<Adam>,
              "a copy would share the state tensors");

// The fixture: parameters, gradients per step, hyperparameters per step and group, variants and results.
struct Fixture {
  struct P {
    std::string name;
    int group;
    bool norm, bias;
    std::vector<double> init;
  };
  std::vector<P> params;
  std::map<std::pair<int, std::string>, std::vector<double>> grads;  // (step, name)
  std::map<std::pair<int, int>, std::pair<double, double>> hypers;    // (step, group) -> (lr, mom)
  std::vector<optim_test::Record> variants;
  std::map<std::string, std::vector<double>> results;  // "<kind> <variant> <param>"
  int steps = 0;

  Fixture() {
    for (const auto& r : optim_test::read_records("optim_steps.txt")) {
      if (r[0] == "param") params.push_back({r[1], std::stoi(r[2]), r[3] == "1", r[4] == "1", nums(r, 6)});
      else if (r[0] == "grad") grads[{std::stoi(r[1]), r[2]}] = nums(r, 3);
      else if (r[0] == "hyper") {
        hypers[{std::stoi(r[1]), std::stoi(r[2])}] = {num(r[3]), num(r[4])};
        steps = std::max(steps, std::stoi(r[1]) + 1);
      } else if (r[0] == "variant") variants.push_back(r);
      else results[r[0] + " " + r[1] + " " + r[2]] = nums(r, 3);
    }
    REQUIRE(params.size() == 5);
    REQUIRE(variants.size() == 5);
    REQUIRE(steps == 5);
  }
};

std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

template <class D>
std::vector<float> host(const Tensor<float, D>& t) {
  std::vector<float> v(static_cast<std::size_t>(t.numel()));
  copy_bytes<cpu, D>(v.data(), t.data(), t.nbytes());
  return v;
}

// Parameters on device D as the fixture describes them (deque: the optimizer keeps pointers).
template <class D>
struct Model {
  std::deque<nn::ParamOn<D>> store;
  std::vector<NamedParam<D>> named;
  explicit Model(const Fixture& fx) {
    for (const auto& p : fx.params) {
      auto& q = store.emplace_back(Shape{static_cast<std::int64_t>(p.init.size())}, p.norm, p.bias);
      q.group = p.group;
      q.assign(to_float(p.init));
      named.push_back({p.name, &q});
    }
  }
  void set_grads(const Fixture& fx, int step) {
    for (auto& np : named) {
      const auto g = to_float(fx.grads.at({step, np.name}));
      copy_bytes<D, cpu>(np.param->grad.data(), g.data(), g.size() * sizeof(float));
    }
  }
};

template <class Opt>
void run_steps(Opt& opt, Model<typename Opt::device_type>& m, const Fixture& fx) {
  for (int s = 0; s < fx.steps; ++s) {
    m.set_grads(fx, s);
    for (int g = 0; g < opt.n_groups(); ++g) {  // what the scheduler does before each batch
      opt.hypers()[static_cast<std::size_t>(g)].lr = fx.hypers.at({s, g}).first;
      opt.hypers()[static_cast<std::size_t>(g)].mom = fx.hypers.at({s, g}).second;
    }
    opt.step();
  }
}

// Runs a variant on device D and compares values and state with the float64 reference.
template <class D>
void check_variant(const Fixture& fx, const optim_test::Record& v, double rel, double abs_tol) {
  const std::string& name = v[1];
  INFO("variant " << name);
  Model<D> m(fx);
  std::map<std::string, std::vector<float>> state;
  auto grab = [&](const std::string& n, Tensor<float, D>& t) { state[n] = host(t); };
  if (v[2] == "adam") {
    AdamOn<D> opt(m.named, {.mom = num(v[3]), .sqr_mom = num(v[4]), .eps = num(v[5]), .wd = num(v[6]),
                            .decouple_wd = v[7] == "1", .wd_bn_bias = v[8] == "1"});
    CHECK(opt.n_groups() == 2);
    run_steps(opt, m, fx);
    opt.for_each_state(grab);
    opt.for_each_counter([&](const std::string& n, std::int64_t& c) {
      INFO(n);
      CHECK(c == fx.steps);
    });
  } else {
    SgdOn<D> opt(m.named, {.mom = num(v[3]), .wd = num(v[6]), .decouple_wd = v[7] == "1", .wd_bn_bias = v[8] == "1"});
    run_steps(opt, m, fx);
    opt.for_each_state(grab);
  }
  int compared = 0;
  for (auto& np : m.named) {
    auto cmp = [&](const std::string& kind, const std::vector<float>& got) {
      const auto it = fx.results.find(kind + " " + name + " " + np.name);
      if (it == fx.results.end()) {
        CHECK(got.empty());  // no such state for this optimizer (SGD without momentum has none)
        return;
      }
      REQUIRE(got.size() == it->second.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        INFO(kind << " " << np.name << "[" << i << "] = " << got[i] << ", reference " << it->second[i]);
        CHECK(std::abs(got[i] - it->second[i]) <= rel * std::abs(it->second[i]) + abs_tol);
      }
      ++compared;
    };
    cmp("final", np.param->to_host());
    cmp("grad_avg", state.count(np.name + ".grad_avg") ? state[np.name + ".grad_avg"] : std::vector<float>{});
    cmp("sqr_avg", state.count(np.name + ".sqr_avg") ? state[np.name + ".sqr_avg"] : std::vector<float>{});
  }
  CHECK(compared >= 5);
}

}  // namespace

TEST_CASE("Adam and SGD equal fastai's float64 steps to float32 precision") {
  const Fixture fx;
  // float32 arithmetic over five steps: 1e-6 relative (measured worst on the params 2.8e-7), plus 1e-7
  // absolute for values that are small differences of larger terms (grad_avg's sums of gradients of both
  // signs; the inputs are 0.05..0.5, whose float32 rounding is 3e-9..3e-8).
  for (const auto& v : fx.variants) check_variant<cpu>(fx, v, 1e-6, 1e-7);
}

TEST_CASE("the reference comparison notices a wrong rule") {
  // the same fixture with L2 and decoupled weight decay swapped must fail the tolerance: the test above
  // can tell the variants apart
  const Fixture fx;
  Model<cpu> m(fx);
  Adam opt(m.named, {.wd = 0.1, .decouple_wd = false});
  run_steps(opt, m, fx);
  const auto& want = fx.results.at("final adam_decoupled 0.weight");
  const auto got = m.named[0].param->to_host();
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]) / std::abs(want[i]));
  CHECK(worst > 1e-4);
}

TEST_CASE("frozen params do not move; norm params of a frozen group still train (train_bn)") {
  const Fixture fx;
  Model<cpu> m(fx);
  for (auto& np : m.named) np.param->frozen = np.param->group == 0 || np.name == "1.weight";
  m.named[2].param->train_bn = false;  // "1.weight": a norm param told not to train
  std::vector<std::vector<float>> before;
  for (auto& np : m.named) before.push_back(np.param->to_host());
  Adam opt(m.named);
  run_steps(opt, m, fx);
  for (std::size_t i = 0; i < m.named.size(); ++i) {
    INFO(m.named[i].name);
    const bool moved = m.named[i].param->to_host() != before[i];
    CHECK(moved == m.named[i].param->requires_grad());
  }
  CHECK(!m.named[0].param->requires_grad());  // group 0 frozen
  CHECK(m.named[3].param->requires_grad());   // "1.bias": norm, not frozen
  // steps are counted only for the params that stepped
  opt.for_each_counter([&](const std::string& n, std::int64_t& c) {
    INFO(n);
    CHECK(c == (n == "0.weight.step" || n == "0.bias.step" || n == "1.weight.step" ? 0 : fx.steps));
  });
}

TEST_CASE("clear_state restarts the moments: the next steps equal a fresh optimizer's") {
  const Fixture fx;
  Model<cpu> a(fx), b(fx);
  Adam used(a.named), fresh(b.named);
  run_steps(used, a, fx);
  used.clear_state();
  used.for_each_counter([](const std::string&, std::int64_t& c) { CHECK(c == 0); });
  used.for_each_state([](const std::string&, Tensor<float>& t) {
    for (float x : t) CHECK(x == 0.0f);
  });
  // from the same values, the cleared optimizer and a fresh one take bit-identical steps
  for (std::size_t i = 0; i < a.named.size(); ++i) b.named[i].param->assign(a.named[i].param->to_host());
  run_steps(used, a, fx);
  run_steps(fresh, b, fx);
  for (std::size_t i = 0; i < a.named.size(); ++i) CHECK(a.named[i].param->to_host() == b.named[i].param->to_host());
}

TEST_CASE("LrSpec follows fastai's set_hyper: scalar, slice(hi), slice(lo, hi), list") {
  using V = std::vector<double>;
  CHECK(LrSpec(1e-3).per_group(3) == V{1e-3, 1e-3, 1e-3});
  CHECK(lr_slice(2e-3).per_group(3) == V{2e-4, 2e-4, 2e-3});
  CHECK(lr_slice(2e-3).per_group(1) == V{2e-3});
  const auto s = lr_slice(1e-6, 1e-4).per_group(3);  // the book's [1e-6, 1e-5, 1e-4]
  CHECK(s[0] == 1e-6);
  CHECK(close(s[1], 1e-5, 1e-15));
  CHECK(close(s[2], 1e-4, 1e-15));
  CHECK(lr_slice(1e-6, 1e-4).per_group(1) == V{1e-4});
  CHECK(lr_slice(0, 1e-2).per_group(2) == V{1e-3, 1e-2});  // fastai's `if v.start`: slice(0, hi) is slice(hi)
  CHECK(LrSpec(V{1e-3, 2e-3}).per_group(2) == V{1e-3, 2e-3});
  CHECK(LrSpec(V{5e-3}).per_group(3) == V{5e-3, 5e-3, 5e-3});  // a one-element list is broadcast, as L(v)*n
  CHECK(lr_slice(1e-6, 1e-4).max() == 1e-4);
  CHECK(LrSpec(V{3e-3, 1e-3}).max() == 3e-3);
  CHECK_THROWS_WITH(LrSpec(V{1e-3, 2e-3}).per_group(3),
                    Catch::Contains("Trying to set 2 learning rates but there are 3 parameter groups"));
  CHECK_THROWS_WITH(LrSpec(V{}), Catch::Contains("empty list"));
  CHECK_THROWS_WITH(LrSpec(-1.0), Catch::Contains("learning rate -1"));
  CHECK_THROWS_WITH(lr_slice(1e-3, 0), Catch::Contains("must be positive"));
  CHECK_THROWS_AS(LrSpec(1e-3).per_group(0), ValueError);

  // set_lr writes each group's lr; set_mom and set_wd all groups
  const Fixture fx;
  Model<cpu> m(fx);
  Adam opt(m.named);
  opt.set_lr(lr_slice(1e-5, 1e-3));
  CHECK(opt.hypers()[0].lr == 1e-5);
  CHECK(opt.hypers()[1].lr == 1e-3);
  opt.set_mom(0.8);
  opt.set_wd(0.0);
  for (const auto& h : opt.hypers()) {
    CHECK(h.mom == 0.8);
    CHECK(h.wd == 0.0);
  }
  CHECK_THROWS_WITH(opt.set_lr(V{1e-3, 1e-3, 1e-3}), Catch::Contains("there are 2 parameter groups"));
}

TEST_CASE("named_params walks a model in for_each_param order; norm params and biases get no weight decay") {
  nn::Sequential<nn::Linear<4, 3>, nn::BatchNorm1d<3>, nn::ReLU, nn::Linear<3, 2>> net;
  auto params = named_params(net);
  std::vector<std::string> names;
  for (auto& p : params) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"});
  // with zero gradients only weight decay moves a param: exactly the two Linear weights move
  for (auto& p : params) {
    p.param->zero_grad();
    p.param->assign(std::vector<float>(static_cast<std::size_t>(p.param->value.numel()), 1.0f));  // decay shows
  }
  std::vector<std::vector<float>> before;
  for (auto& p : params) before.push_back(p.param->to_host());
  Adam opt(params, {.wd = 0.5});
  opt.step();
  for (std::size_t i = 0; i < params.size(); ++i) {
    INFO(names[i]);
    CHECK((params[i].param->to_host() != before[i]) == (names[i] == "0.weight" || names[i] == "3.weight"));
  }
  // wd_bn_bias: every param decays
  Adam all(params, {.wd = 0.5, .wd_bn_bias = true});
  for (auto& p : params) before[static_cast<std::size_t>(&p - params.data())] = p.param->to_host();
  all.step();
  for (std::size_t i = 0; i < params.size(); ++i) CHECK(params[i].param->to_host() != before[i]);
}

TEST_CASE("no allocation after the first step; state has stable names and storage; all through the device's table") {
  const Fixture fx;
  Model<seam::counting> m(fx);
  AdamOn<seam::counting> opt(m.named);
  seam::kernel_log().clear();
  m.set_grads(fx, 0);
  opt.step();  // allocates the state of every param, once
  const long blocks = seam::blocks_allocated().load();
  std::map<std::string, const float*> where;
  opt.for_each_state([&](const std::string& n, Tensor<float, seam::counting>& t) { where[n] = t.data(); });
  CHECK(where.size() == 2 * m.named.size());
  CHECK(where.count("2.weight.sqr_avg") == 1);
  for (int s = 1; s < fx.steps; ++s) {
    m.set_grads(fx, s);
    opt.step();
  }
  opt.clear_state();
  opt.step();
  opt.zero_grad();
  CHECK(seam::blocks_allocated().load() == blocks);
  opt.for_each_state([&](const std::string& n, Tensor<float, seam::counting>& t) { CHECK(where.at(n) == t.data()); });
  CHECK(seam::kernel_log().of("adam_step") == static_cast<long>((fx.steps + 1) * m.named.size()));
  CHECK(seam::kernel_log().of("zero") == static_cast<long>(2 * m.named.size() * 2));  // allocation + clear_state

  // SGD with momentum on the device: the same numbers as on the cpu, bit for bit
  Model<seam::counting> dm(fx);
  Model<cpu> cm(fx);
  SgdOn<seam::counting> dopt(dm.named, {.mom = 0.9, .wd = 0.01});
  SGD copt(cm.named, {.mom = 0.9, .wd = 0.01});
  run_steps(dopt, dm, fx);
  run_steps(copt, cm, fx);
  for (std::size_t i = 0; i < dm.named.size(); ++i) CHECK(dm.named[i].param->to_host() == cm.named[i].param->to_host());
  CHECK(seam::kernel_log().of("sgd_step") == static_cast<long>(fx.steps * dm.named.size()));
}

TEST_CASE("an optimizer refuses a param whose value changed size after it was made") {
  nn::Param p(Shape{4});
  Adam opt({{"w", &p}});
  opt.step();
  p.value = Tensor<float>::zeros(Shape{5});
  p.grad = Tensor<float>::zeros(Shape{5});
  CHECK_THROWS_WITH(opt.step(), Catch::Contains("parameter 'w' is now [5]"));
  CHECK_THROWS_WITH(Adam({{"x", nullptr}}), Catch::Contains("'x' is a null pointer"));
}

TEST_CASE("multi-tensor steps: the parameters that share a step's hyperparameters go in one call, with the same bits") {
  const Fixture fx;
  // every variant against the float64 reference, as on the cpu
  for (const auto& v : fx.variants) check_variant<many_test::batched>(fx, v, 1e-6, 1e-7);
  // and bit for bit against the per-tensor cpu steps, with groups, a frozen parameter and step counts that
  // differ (the frozen one misses steps, so its debiasing differs and it cannot join its group's call)
  Model<many_test::batched> bm(fx);
  Model<cpu> cm(fx);
  AdamOn<many_test::batched> bopt(bm.named, {.wd = 0.01});
  Adam copt(cm.named, {.wd = 0.01});
  many_test::many_calls().clear();
  for (int s = 0; s < fx.steps; ++s) {
    const bool frozen = s == 1;  // param 1 skips step 1
    bm.named[1].param->frozen = frozen;
    cm.named[1].param->frozen = frozen;
    bm.set_grads(fx, s);
    cm.set_grads(fx, s);
    bopt.step();
    copt.step();
  }
  for (std::size_t i = 0; i < bm.named.size(); ++i) {
    INFO(bm.named[i].name);
    CHECK(bm.named[i].param->to_host() == cm.named[i].param->to_host());
  }
  // every tensor stepped (5 params x 5 steps - 1 frozen step) in one call per key: group 0 with and without
  // weight decay, group 1 likewise (4 keys a step), and at the steps after the frozen one, 0.bias's lagging
  // step count apart from 0.weight's... which has another key anyway: 4 calls a step, 3 at step 1
  std::int64_t stepped = 0;
  for (auto c : many_test::many_calls()) stepped += c;
  CHECK(stepped == 5 * fx.steps - 1);
  CHECK(many_test::many_calls().size() == static_cast<std::size_t>(4 * fx.steps - 1));

  Model<many_test::batched> sm(fx);
  Model<cpu> scm(fx);
  SgdOn<many_test::batched> sopt(sm.named, {.mom = 0.9, .wd = 0.01});
  SGD scopt(scm.named, {.mom = 0.9, .wd = 0.01});
  run_steps(sopt, sm, fx);
  run_steps(scopt, scm, fx);
  for (std::size_t i = 0; i < sm.named.size(); ++i) CHECK(sm.named[i].param->to_host() == scm.named[i].param->to_host());
}
