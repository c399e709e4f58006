// The hooks a data-parallel run gives the layers (nn/hooks.hpp), without MPI: Sequential and Residual
// report each trainable gradient once, when it is final, and BatchNorm with sync_batchnorm normalises with
// the statistics of every process's rows (two threads stand in for two processes here; tests/mpi runs
// it over MPI), and refuses with a sentence on a device whose kernel table lacks the sync kernels.
#include <catch2/catch.hpp>

#include <fastpp/nn.hpp>

#include <algorithm>
#include <barrier>
#include <cmath>
#include <map>
#include <thread>
#include <vector>

#include "counting_device.hpp"

using namespace fastpp;
using namespace fastpp::nn;

namespace hooks_test {

using Net = Sequential<Conv2d<3, 8, ConvOpts{.kernel = 3, .padding = 1, .bias = false}>, BatchNorm2d<8>, ReLU,
                       BasicBlock<8, 8, 1>, BasicBlock<8, 16, 2>, AdaptiveAvgPool2d<1>, Flatten, Linear<16, dyn>>;

Tensor<float> input(const Shape& s, float f) {
  auto t = Tensor<float>::empty(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = std::sin(static_cast<float>(i) * f) + 0.3f;
  return t;
}

// Records each reported gradient and its values at the time of the report.
struct Recorder final : GradReady {
  std::map<const float*, std::int64_t> numel;  // every trainable gradient of the net
  std::vector<const float*> order;
  std::vector<std::vector<float>> at_report;
  int layers = 0;
  void grad_ready(const float* g) override {
    order.push_back(g);
    const auto it = numel.find(g);
    at_report.emplace_back(g, g + (it == numel.end() ? 0 : it->second));
  }
  void layer_done() override { ++layers; }
};

// A sum over two threads that stand for two processes: both add the two slots in the same order.
struct TwoThreadSum final : ProcessSum {
  std::barrier<> meet{2};
  std::vector<double> slot[2];
  int rank_of_this_thread(std::thread::id id) const { return id == first ? 0 : 1; }
  std::thread::id first;
  void sum(double* values, std::int64_t n) override {
    const int r = rank_of_this_thread(std::this_thread::get_id());
    slot[r].assign(values, values + n);
    meet.arrive_and_wait();
    for (std::int64_t i = 0; i < n; ++i) values[i] = slot[0][static_cast<std::size_t>(i)] + slot[1][static_cast<std::size_t>(i)];
    meet.arrive_and_wait();  // nobody overwrites a slot before both have read it
  }
};

struct OneProcessSum final : ProcessSum {
  int calls = 0;
  void sum(double*, std::int64_t) override { ++calls; }
};

std::vector<float> host(const Tensor<float>& t) { return {t.begin(), t.end()}; }

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float m = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace hooks_test

using namespace hooks_test;

TEST_CASE("Sequential and Residual report each trainable gradient once, final, deepest layers first", "[nn][hooks]") {
  Net net(Build{Rng(5), 4});
  const char* frozen_name = "0.weight";  // the stem: frozen, so never reported
  Recorder rec;
  std::vector<const float*> in_order;
  net.for_each_param([&](const std::string& name, ParamOn<cpu>& p) {
    if (name == frozen_name) p.frozen = true;
    if (!p.requires_grad()) return;
    rec.numel[p.grad.data()] = p.grad.numel();
    in_order.push_back(p.grad.data());
  });
  auto ctx = Ctx::train(1);
  ctx.input_grad = false;
  ctx.parallel.grad_ready = &rec;
  const auto y = net.forward(ctx, input({2, 8, 8, 3}, 0.37f));
  net.backward(ctx, input(y.shape(), 0.11f));

  // every trainable gradient exactly once, none other
  REQUIRE(rec.order.size() == in_order.size());
  std::map<const float*, int> seen;
  for (const float* g : rec.order) ++seen[g];
  for (const float* g : in_order) CHECK(seen[g] == 1);
  // final when reported: nothing later in the backward changed it, and it is not all zeros
  std::size_t k = 0;
  net.for_each_param([&](const std::string&, ParamOn<cpu>& p) {
    if (!p.requires_grad()) return;
    const auto it = std::find(rec.order.begin(), rec.order.end(), p.grad.data());
    const auto& then = rec.at_report[static_cast<std::size_t>(it - rec.order.begin())];
    CHECK(then == host(p.grad));
    CHECK(std::any_of(then.begin(), then.end(), [](float v) { return v != 0.0f; }));
    ++k;
  });
  CHECK(k == in_order.size());
  // the head first: the Linear's gradients are the first reported, the stem's BatchNorm's the last
  CHECK(rec.order.front() == in_order[in_order.size() - 2]);  // Linear weight (its bias is last in order)
  CHECK(rec.order.back() == in_order[1]);                     // BatchNorm2d bias (the weight just before it)
  CHECK(rec.layers > 0);

  // without a hook the same backward gives the same gradients
  Net again(Build{Rng(5), 4});
  again.for_each_param([&](const std::string& name, ParamOn<cpu>& p) { p.frozen = name == frozen_name; });
  auto plain = Ctx::train(1);
  plain.input_grad = false;
  again.backward(plain, input(again.forward(plain, input({2, 8, 8, 3}, 0.37f)).shape(), 0.11f));
  std::vector<std::vector<float>> g1, g2;
  net.for_each_param([&](const std::string&, ParamOn<cpu>& p) { g1.push_back(host(p.grad)); });
  again.for_each_param([&](const std::string&, ParamOn<cpu>& p) { g2.push_back(host(p.grad)); });
  CHECK(g1 == g2);
}

TEST_CASE("BatchNorm with sync_batchnorm: two halves of a batch normalise as the whole batch", "[nn][hooks]") {
  const auto x = input({8, 3, 3, 4}, 0.23f);
  const auto dy = input({8, 3, 3, 4}, 0.71f);
  BatchNorm2d<4> whole;
  {
    std::vector<float> g = {1.5f, 0.5f, -1.0f, 2.0f};
    std::copy(g.begin(), g.end(), whole.weight.value.data());
  }
  auto ctx = Ctx::train(0);
  const auto y = host(whole.forward(ctx, x));
  const auto dx = host(whole.backward(ctx, dy.clone()));

  BatchNorm2d<4> half[2];
  TwoThreadSum sum;
  std::vector<float> yh[2], dxh[2];
  auto run = [&](int r) {
    std::copy(whole.weight.value.data(), whole.weight.value.data() + 4, half[r].weight.value.data());
    const std::int64_t per = x.numel() / 2;
    auto xr = Tensor<float>::empty({4, 3, 3, 4}), dyr = Tensor<float>::empty({4, 3, 3, 4});
    std::copy(x.data() + r * per, x.data() + (r + 1) * per, xr.data());
    std::copy(dy.data() + r * per, dy.data() + (r + 1) * per, dyr.data());
    auto c = Ctx::train(0);
    c.parallel.sync_batchnorm = &sum;
    yh[r] = host(half[r].forward(c, xr));
    dxh[r] = host(half[r].backward(c, dyr));
  };
  sum.first = std::this_thread::get_id();
  std::thread other(run, 1);
  run(0);
  other.join();

  std::vector<float> ycat = yh[0], dxcat = dxh[0];
  ycat.insert(ycat.end(), yh[1].begin(), yh[1].end());
  dxcat.insert(dxcat.end(), dxh[1].begin(), dxh[1].end());
  CHECK(max_diff(ycat, y) <= 1e-5f);
  CHECK(max_diff(dxcat, dx) <= 1e-5f);
  for (int r = 0; r < 2; ++r) {
    INFO("half " << r);
    CHECK(max_diff(host(half[r].running_mean), host(whole.running_mean)) <= 1e-6f);
    CHECK(max_diff(host(half[r].running_var), host(whole.running_var)) <= 1e-6f);
    CHECK(half[r].num_batches_tracked == 1);
  }
  // dgamma, dbeta: each half's own; together the whole batch's
  std::vector<float> dg(4), db(4);
  for (int j = 0; j < 4; ++j) {
    dg[static_cast<std::size_t>(j)] = half[0].weight.grad.data()[j] + half[1].weight.grad.data()[j];
    db[static_cast<std::size_t>(j)] = half[0].bias.grad.data()[j] + half[1].bias.grad.data()[j];
  }
  CHECK(max_diff(dg, host(whole.weight.grad)) <= 1e-5f);
  CHECK(max_diff(db, host(whole.bias.grad)) <= 1e-5f);
  CHECK(max_diff(dg, host(half[0].weight.grad)) > 1e-3f);  // a half alone is not the whole

  // unsynchronised halves differ: each normalises with its own statistics
  BatchNorm2d<4> alone;
  auto c = Ctx::train(0);
  auto x0 = Tensor<float>::empty({4, 3, 3, 4});
  std::copy(x.data(), x.data() + x.numel() / 2, x0.data());
  alone.forward(c, x0);
  CHECK(max_diff(host(alone.running_mean), host(whole.running_mean)) > 1e-3f);
}

TEST_CASE("BatchNorm with sync_batchnorm: one process, eval, and a device without the kernels", "[nn][hooks]") {
  const auto x = input({6, 2, 2, 3}, 0.31f);
  BatchNorm2d<3> plain, synced;
  OneProcessSum one;
  auto c1 = Ctx::train(0), c2 = Ctx::train(0);
  c2.parallel.sync_batchnorm = &one;
  CHECK(max_diff(host(plain.forward(c1, x)), host(synced.forward(c2, x))) <= 1e-5f);
  CHECK(one.calls == 1);
  const auto dy = input(x.shape(), 0.5f);
  CHECK(max_diff(host(plain.backward(c1, dy.clone())), host(synced.backward(c2, dy.clone()))) <= 1e-5f);
  CHECK(one.calls == 2);
  CHECK(max_diff(host(plain.running_var), host(synced.running_var)) <= 1e-6f);
  // eval mode uses the running estimates: nothing summed
  auto e = Ctx::eval();
  e.parallel.sync_batchnorm = &one;
  synced.forward(e, x);
  CHECK(one.calls == 2);

  BatchNorm2d<3, seam::counting> on_test;
  auto ct = Ctx::train(0);
  ct.parallel.sync_batchnorm = &one;
  CHECK_THROWS_WITH(on_test.forward(ct, x.to<seam::counting>()),
                    Catch::Contains("synchronised BatchNorm (sync_batchnorm) is not available on the counting device"));
  CHECK(one.calls == 2);
}
