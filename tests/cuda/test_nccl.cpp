// Runs on a GPU machine only (fastpp_tests_nccl, linked with fastpp::nccl). A 1-rank NCCL job goes through
// every NCCL call of data-parallel training (the weights' broadcast, each step's loss average, the gradients'
// bucketed ncclAvg all-reduce, the validation sums) and must end where the plain GPU run ends: an average
// over one rank is a copy (NCCL scales a float ncclAvg by 1/nranks = 1, exact), the loss's sum of one double
// and its division by 1 are exact, and the data order of shard(0, 1) is the loader's. So the weights are
// compared bit for bit whenever the plain GPU run reproduces itself bit for bit (two plain runs agree), and
// always within 1e-6 relative: cuDNN may pick a backward algorithm that adds with atomics, whose order, and
// so the last bits, may change from run to run whatever NCCL does.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fastpp/backend/cuda.hpp>
#include <fastpp/distributed/nccl.hpp>
#include <fastpp/learner.hpp>
#include <fastpp/models.hpp>
#include <random>
#include <vector>

#include "../learner/helpers.hpp"

using namespace fastpp;

namespace nccl_test {

inline auto tiny_cuda(std::uint64_t seed) {
  using Net = nn::on_device_t<test::TinyNet, cuda>;
  Net net(nn::Build{Rng(seed), 3});
  net.for_each_param([](const std::string& name, auto& p) { p.group = name.rfind("6.", 0) == 0 ? 1 : 0; });
  return net;
}

// Largest |a - b| relative to the largest |b| (NaN counts as infinite).
inline double relative_gap(const std::vector<float>& a, const std::vector<float>& b) {
  double scale = 0;
  for (float v : b) scale = std::max(scale, std::abs(static_cast<double>(v)));
  double worst = 0;
  for (std::size_t k = 0; k < b.size(); ++k) {
    const double d = std::abs(static_cast<double>(a[k]) - b[k]) / std::max(scale, 1e-30);
    if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
  }
  return worst;
}

inline std::vector<float> random_floats(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(gen);
  return v;
}
inline Tensor<float, cuda> on_gpu(const std::vector<float>& v) {
  auto h = Tensor<float, cpu>::empty({static_cast<std::int64_t>(v.size())});
  std::memcpy(h.data(), v.data(), v.size() * sizeof(float));
  return h.template to<cuda>();
}
inline std::vector<float> on_host(const Tensor<float, cuda>& t) {
  const auto h = t.template to<cpu>();
  return std::vector<float>(h.data(), h.data() + h.numel());
}

}  // namespace nccl_test

TEST_CASE("a 1-rank NCCL job trains to the plain GPU run's weights", "[cuda][nccl]") {
  test::TempDir t;
  test::write_colour_dataset(t.path());
  struct Result {
    std::vector<float> weights;
    std::vector<double> valid;
    std::vector<double> losses;
  };
  auto run = [&](bool over_nccl) {
    auto learn = make_learner(test::colour_dls(t.path(), 8, 0, 3), nccl_test::tiny_cuda(11), metrics(error_rate),
                              test::quiet_in(t.path()));
    std::shared_ptr<NcclGroup> group;
    if (over_nccl) {
      group = std::make_shared<NcclGroup>();
      REQUIRE(group->size() == 1);
      REQUIRE(group->rank() == 0);
      distributed(learn, group);
      REQUIRE(learn.process_group() == group.get());
      REQUIRE(learn.is_main_process());
    }
    learn.fit_one_cycle(2, 1e-2);
    Result r{test::weights_of(learn.model()), learn.validate(), learn.recorder().losses};
    if (over_nccl) REQUIRE(learn.dls().train.n_batches() > 4);  // the job ran several steps
    return r;
  };
  const Result plain = run(false);
  const Result again = run(false);
  const Result nccl = run(true);
  REQUIRE(nccl.weights.size() == plain.weights.size());
  const double gap = nccl_test::relative_gap(nccl.weights, plain.weights);
  const bool reproducible = test::bit_equal(again.weights, plain.weights);
  INFO("largest weight gap " << gap << "; plain GPU run reproduces itself bit for bit: " << reproducible);
  CHECK(gap < 1e-6);
  if (reproducible) {
    CHECK(test::bit_equal(nccl.weights, plain.weights));
    CHECK(nccl.valid == plain.valid);
    CHECK(nccl.losses == plain.losses);
  }
  REQUIRE(nccl.valid.size() == plain.valid.size());
  for (std::size_t k = 0; k < plain.valid.size(); ++k) CHECK(nccl.valid[k] == Approx(plain.valid[k]).epsilon(1e-6));
}

// The same 1-rank job with the gradients' buckets queued during backward (small buckets, so there are several)
// and without, and with synchronised BatchNorm (TinyNet has a BatchNorm2d): overlap changes when each
// all-reduce is queued, not what it adds, so the rule above holds as it is. SyncBatchNorm at world 1 normalises
// with the same batch statistics, but from the unshifted sums of x and x^2 (norm_sync.cu) rather than the
// local kernel's shifted ones: the last bits of a variance may differ, so it is held to 1e-5 (weights and
// running statistics) and never bit for bit.
TEST_CASE("a 1-rank NCCL job with overlap or SyncBatchNorm trains to the plain GPU run's weights", "[cuda][nccl]") {
  test::TempDir t;
  test::write_colour_dataset(t.path());
  struct Result {
    std::vector<float> weights;
    std::vector<double> valid;
    std::vector<double> losses;
    std::size_t buckets = 0, started_in_backward = 0;
  };
  auto run = [&](const NcclOptions* o) {
    auto learn = make_learner(test::colour_dls(t.path(), 8, 0, 3), nccl_test::tiny_cuda(11), metrics(error_rate),
                              test::quiet_in(t.path()));
    std::shared_ptr<NcclDistributedCallback> cb;
    if (o) {  // distributed(learn, group, *o), keeping the callback to ask it about its buckets
      auto group = std::make_shared<NcclGroup>();
      learn.dls() = learn.dls().shard(0, 1);
      learn.set_process_group(group);
      cb = std::make_shared<NcclDistributedCallback>(group, *o);
      learn.add_cb(cb);
    }
    learn.fit_one_cycle(2, 1e-2);
    Result r{test::weights_of(learn.model()), learn.validate(), learn.recorder().losses};
    if (cb) {
      r.buckets = cb->buckets();
      r.started_in_backward = cb->started_in_backward();
      CHECK(learn.parallel_hooks.grad_ready == nullptr);  // the hooks end with the fit
      CHECK(learn.parallel_hooks.sync_batchnorm == nullptr);
    }
    return r;
  };
  const Result plain = run(nullptr);
  const Result again = run(nullptr);
  const bool reproducible = test::bit_equal(again.weights, plain.weights);
  NcclOptions small;
  small.bucket_bytes = small.first_bucket_bytes = 64;  // 16 floats: several buckets
  NcclOptions later = small;
  later.overlap = false;
  NcclOptions sync_bn;
  sync_bn.sync_batchnorm = true;
  for (const NcclOptions* o : {&small, &later}) {
    const Result nccl = run(o);
    INFO("overlap " << o->overlap << "; plain GPU run reproduces itself bit for bit: " << reproducible);
    CHECK(nccl.buckets > 2);
    CHECK(nccl.started_in_backward == (o->overlap ? nccl.buckets : 0));  // TinyNet's children all report
    REQUIRE(nccl.weights.size() == plain.weights.size());
    const double gap = nccl_test::relative_gap(nccl.weights, plain.weights);
    INFO("largest weight gap " << gap);
    CHECK(gap < 1e-6);
    if (reproducible) {
      CHECK(test::bit_equal(nccl.weights, plain.weights));
      CHECK(nccl.valid == plain.valid);
      CHECK(nccl.losses == plain.losses);
    }
    REQUIRE(nccl.valid.size() == plain.valid.size());
    for (std::size_t k = 0; k < plain.valid.size(); ++k) CHECK(nccl.valid[k] == Approx(plain.valid[k]).epsilon(1e-6));
  }
  const Result synced = run(&sync_bn);
  REQUIRE(synced.weights.size() == plain.weights.size());
  const double gap = nccl_test::relative_gap(synced.weights, plain.weights);
  INFO("sync_batchnorm: largest weight gap " << gap);
  CHECK(gap < 1e-5);
  CHECK(synced.started_in_backward == synced.buckets);
  REQUIRE(synced.valid.size() == plain.valid.size());
  for (std::size_t k = 0; k < plain.valid.size(); ++k) CHECK(synced.valid[k] == Approx(plain.valid[k]).epsilon(1e-5));
}

// The device sum that SyncBatchNorm's statistics go through: in place, on the current stream, exact at world 1.
TEST_CASE("NcclGroup's device sum and single-bucket average on one rank", "[cuda][nccl]") {
  NcclGroup g;
  cuda_runtime::Stream s;
  cuda_runtime::StreamGuard on(s);
  std::vector<double> v{1.5, -2.25, 3e300, 0.1, -0.0, 12345.678};
  auto d = Tensor<double, cpu>::from({static_cast<std::int64_t>(v.size())}, v).template to<cuda>();
  g.sum_device(d.data(), v.size());
  g.sum_device(d.data(), 0);  // nothing to add
  const auto back = d.template to<cpu>();
  CHECK(std::vector<double>(back.data(), back.data() + back.numel()) == v);
  // one bucket of several parts (packed) and one of a single part (in place), queued one after the other
  const std::vector<std::size_t> sizes{5, 70000, 1, 33};
  std::vector<std::vector<float>> host;
  std::vector<Tensor<float, cuda>> grads;
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    host.push_back(nccl_test::random_floats(sizes[k], static_cast<std::uint32_t>(200 + k)));
    grads.push_back(nccl_test::on_gpu(host.back()));
  }
  const std::vector<NcclGradPart> first{{grads[0].data(), sizes[0]}, {grads[1].data(), sizes[1]}};
  const NcclGradPart alone{grads[2].data(), sizes[2]};
  const std::vector<NcclGradPart> last{{grads[3].data(), sizes[3]}, {grads[0].data(), 0}};
  g.average_bucket(first.data(), first.size());
  g.average_bucket(&alone, 1);
  g.average_bucket(last.data(), last.size());
  g.average_bucket(nullptr, 0);
  s.synchronize();
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    INFO("gradient " << k);
    CHECK(test::bit_equal(nccl_test::on_host(grads[k]), host[k]));
  }
}

TEST_CASE("NcclGroup's sum and barrier on one rank", "[cuda][nccl]") {
  NcclGroup g;
  CHECK(g.size() == 1);
  CHECK(g.rank() == 0);
  std::vector<double> v{1.5, -2.25, 3e300, 0.1, -0.0};
  const auto before = v;
  g.sum(v.data(), v.size());  // default stream
  CHECK(v == before);
  // more values than before (the buffers grow), on a stream of its own
  cuda_runtime::Stream s;
  cuda_runtime::StreamGuard on(s);
  std::vector<double> w(1000);
  for (std::size_t k = 0; k < w.size(); ++k) w[k] = 0.5 * static_cast<double>(k) - 7.0;
  const auto w0 = w;
  g.sum(w.data(), w.size());
  CHECK(w == w0);
  g.sum(w.data(), 0);  // nothing to add
  CHECK(w == w0);
  CHECK_NOTHROW(g.barrier());
  CHECK_NOTHROW(g.check_device("test"));
}

TEST_CASE("NcclGroup's bucketed gradient average and broadcast on one rank keep every value in place",
          "[cuda][nccl]") {
  NcclGroup g;
  cuda_runtime::Stream s;
  cuda_runtime::StreamGuard on(s);
  // Buckets of several gradients are packed end to end and unpacked: a wrong offset would move values.
  const std::vector<std::size_t> sizes{1, 7, 4096, 3, 100003, 1};
  std::vector<std::vector<float>> host;
  std::vector<Tensor<float, cuda>> grads;
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    host.push_back(nccl_test::random_floats(sizes[k], static_cast<std::uint32_t>(100 + k)));
    grads.push_back(nccl_test::on_gpu(host.back()));
  }
  auto part = [&](std::size_t k) { return NcclGradPart{grads[k].data(), sizes[k]}; };
  const std::vector<std::vector<NcclGradPart>> buckets{{part(0), part(1), part(2)}, {part(3)}, {part(4), part(5)}};
  g.average_buckets(buckets);
  g.average_buckets(buckets);  // twice: the packed buffer is reused
  s.synchronize();
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    INFO("gradient " << k);
    CHECK(test::bit_equal(nccl_test::on_host(grads[k]), host[k]));
  }
  g.begin_group();
  for (std::size_t k = 0; k < sizes.size(); ++k) g.broadcast(grads[k].data(), sizes[k], 0);
  g.end_group();
  s.synchronize();
  for (std::size_t k = 0; k < sizes.size(); ++k) CHECK(test::bit_equal(nccl_test::on_host(grads[k]), host[k]));
  CHECK_THROWS_WITH(g.broadcast(grads[0].data(), 1, 1), Catch::Contains("root 1 is outside 0..0"));
}
