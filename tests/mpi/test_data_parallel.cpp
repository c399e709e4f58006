// Data-parallel training over MPI, run under `mpirun -np 2` (tests/mpi/CMakeLists.txt): 2 ranks with
// per-rank batch b train to the weights of 1 process with batch 2b, validation is reduced over ranks,
// rank 0 alone prints and writes checkpoints, and those resume on 2 ranks and on 1.
#include <catch2/catch.hpp>

#include <fastpp/distributed/mpi.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "../learner/helpers.hpp"
#include "mpi_session.hpp"
#include "work_dir.hpp"

using namespace fastpp;
using namespace fastpp::test;

namespace {

int rank() { return mpi_session->rank(); }
int world() { return mpi_session->size(); }

// A folder every rank sees: rank 0 names and makes it, the others receive its path; removed by rank 0
// once every rank is done with it.
class SharedDir {
 public:
  SharedDir() {
    std::string p;
    if (rank() == 0) p = dir_.emplace("shared").path().string();
    int len = static_cast<int>(p.size());
    MPI_Bcast(&len, 1, MPI_INT, 0, MPI_COMM_WORLD);
    p.resize(static_cast<std::size_t>(len));
    MPI_Bcast(p.data(), len, MPI_CHAR, 0, MPI_COMM_WORLD);
    path_ = p;
  }
  ~SharedDir() { MPI_Barrier(MPI_COMM_WORLD); }  // dir_ (rank 0's) is removed after this
  fs::path operator/(const std::string& s) const { return path_ / s; }

 private:
  std::optional<WorkDir> dir_;
  fs::path path_;
};

// No BatchNorm (its statistics stay local to each rank, so a 2-rank run would differ from 1 rank by
// design) and no Dropout (its masks are drawn per step).
using PlainNet = nn::Sequential<nn::Conv2d<3, 8, nn::ConvOpts{.kernel = 3, .stride = 2, .padding = 1, .bias = true}>,
                                nn::ReLU, nn::AdaptiveAvgPool2d<1>, nn::Flatten, nn::Linear<8, nn::dyn>>;
PlainNet plain_net(std::uint64_t seed) { return PlainNet(nn::Build{Rng(seed), 3}); }

auto learner(const fs::path& data, const fs::path& dir, std::int64_t bs, std::uint64_t init_seed = 0) {
  return make_learner(colour_dls(data, bs, 0, 5), plain_net(init_seed), metrics(error_rate), quiet_in(dir));
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float m = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

// Rank 0's vector, on every rank.
std::vector<float> from_rank0(std::vector<float> v) {
  MPI_Bcast(v.data(), static_cast<int>(v.size()), MPI_FLOAT, 0, MPI_COMM_WORLD);
  return v;
}

// Float reduction order: the 2-rank gradient is the mean of two 4-row means, the 1-rank one an 8-row
// mean, and Adam divides by the root of the second moment, so the runs drift apart by a few ulps a step
// (measured: 3.7e-8 after 12 steps, weights moved by 0.11; without the all-reduce 0.17).
constexpr float tolerance = 1e-5f;

}  // namespace

TEST_CASE("2 ranks with batch b train to the weights of 1 process with batch 2b", "[mpi]") {
  REQUIRE(world() == 2);
  SharedDir t;
  if (rank() == 0) write_colour_dataset(t / "data", 12, 7);  // 36 train items: 4 batches of 8, 4 of 4 a rank
  MPI_Barrier(MPI_COMM_WORLD);

  auto single = learner(t / "data", t / "single", 8);
  const auto init = weights_of(single.model());
  single.fit(3, 1e-2);
  const auto want = weights_of(single.model());

  // Each rank starts from its own random weights: distributed() makes them rank 0's before the fit.
  std::ostringstream table;
  LearnerOptions o = quiet_in(t / "dp");
  o.progress = Progress::table;
  o.out = &table;
  auto learn = make_learner(colour_dls(t / "data", 4, 0, 5), plain_net(static_cast<std::uint64_t>(rank())),
                            metrics(error_rate), o);
  distributed(learn, *mpi_session);
  CHECK(learn.dls().train.n_batches() == 4);
  learn.fit(3, 1e-2);
  const auto got = weights_of(learn.model());

  INFO("rank " << rank());
  CHECK(max_abs_diff(want, init) > 100 * tolerance);  // the weights moved far more than the tolerance
  CHECK(max_abs_diff(got, want) <= tolerance);
  CHECK(bit_equal(got, from_rank0(got)));             // every rank holds the same weights
  // the train losses are the global batch's (averaged over ranks), so the same on every rank
  const auto& losses = learn.recorder().losses;
  REQUIRE(losses.size() == single.recorder().losses.size());
  std::vector<float> lf(losses.begin(), losses.end()), want_lf;
  for (double l : single.recorder().losses) want_lf.push_back(static_cast<float>(l));
  CHECK(max_abs_diff(lf, want_lf) <= tolerance);
  CHECK(bit_equal(lf, from_rank0(lf)));
  // the progress table on rank 0 only
  CHECK(table.str().empty() == (rank() != 0));
  CHECK(learn.is_main_process() == (rank() == 0));
}

TEST_CASE("validation loss and metrics are reduced over ranks: the whole validation set's", "[mpi]") {
  SharedDir t;
  if (rank() == 0) write_colour_dataset(t / "data", 4, 7);  // 21 valid items: 11 on rank 0, 10 on rank 1
  MPI_Barrier(MPI_COMM_WORLD);
  auto single = learner(t / "data", t / "single", 4);
  single.fit(1, 1e-2);
  auto learn = learner(t / "data", t / "dp", 4, 99);
  distributed(learn, *mpi_session);
  CHECK(learn.dls().valid.order(0).size() == (rank() == 0 ? 11u : 10u));
  // the single process's weights into the distributed learner, on every rank
  std::vector<float*> dst;
  learn.visit_params([&](const std::string&, float* v, float*, std::int64_t) { dst.push_back(v); });
  std::size_t k = 0;
  single.visit_params([&](const std::string&, float* v, float*, std::int64_t n) {
    std::copy(v, v + n, dst[k++]);
  });
  const auto want = single.validate();
  const auto got = learn.validate();
  INFO("rank " << rank());
  REQUIRE(got.size() == 2);
  CHECK(got[0] == Approx(want[0]).epsilon(1e-9));
  CHECK(got[1] == Approx(want[1]).epsilon(1e-12));
  // a rank's own shard alone gives another answer (this is not a vacuous comparison)
  auto alone = learner(t / "data", t / "alone", 4, 99);
  alone.dls() = alone.dls().shard(rank(), 2);
  k = 0;
  std::vector<float*> dst2;
  alone.visit_params([&](const std::string&, float* v, float*, std::int64_t) { dst2.push_back(v); });
  single.visit_params([&](const std::string&, float* v, float*, std::int64_t n) { std::copy(v, v + n, dst2[k++]); });
  CHECK(alone.validate()[0] != Approx(want[0]).epsilon(1e-9));
}

TEST_CASE("checkpoints written by rank 0 resume on 2 ranks and on 1", "[mpi]") {
  SharedDir t;
  if (rank() == 0) write_colour_dataset(t / "data", 12, 4);
  MPI_Barrier(MPI_COMM_WORLD);

  auto whole = learner(t / "data", t / "m", 4);
  distributed(whole, *mpi_session);
  whole.fit(3, 1e-2);
  const auto want = weights_of(whole.model());

  auto first = learner(t / "data", t / ("rank" + std::to_string(rank())), 4);
  distributed(first, *mpi_session);
  auto stop = std::make_shared<LambdaCallback>();
  stop->ord = 100;
  stop->on_after_epoch = [&](LearnerBase& l) {
    if (l.state.epoch == 0) {
      l.save("epoch1");
      throw CancelFit{};
    }
  };
  FitOptions o1;
  o1.cbs = {stop};
  first.fit(3, 1e-2, o1);
  // every rank named its own folder: only rank 0's holds the file, complete when save() returned
  const fs::path written = t / "rank0" / "models" / "epoch1.safetensors";
  INFO("rank " << rank());
  CHECK(fs::exists(written));
  CHECK(fs::exists(t / "rank1" / "models" / "epoch1.safetensors") == false);

  auto copy_into = [&](const fs::path& dir) {
    if (rank() == 0) {
      fs::create_directories(dir / "models");
      fs::copy_file(written, dir / "models" / "epoch1.safetensors");
    }
    MPI_Barrier(MPI_COMM_WORLD);
  };
  copy_into(t / "resume");
  FitOptions o2;
  o2.start_epoch = 1;

  auto on_two = learner(t / "data", t / "resume", 4, 7);
  distributed(on_two, *mpi_session);
  on_two.load("epoch1");
  CHECK(on_two.epochs_done() == 1);
  on_two.fit(3, 1e-2, o2);
  CHECK(bit_equal(weights_of(on_two.model()), want));

  // one process with the global batch, from the same file
  auto on_one = learner(t / "data", t / "resume", 8, 7);
  on_one.load("epoch1");
  on_one.fit(3, 1e-2, o2);
  CHECK(max_abs_diff(weights_of(on_one.model()), want) <= tolerance);
}

namespace {

// With BatchNorm: a 2-rank run matches 1 process of the global batch only when the statistics are synchronised.
using BnNet = nn::Sequential<nn::Conv2d<3, 8, nn::ConvOpts{.kernel = 3, .stride = 2, .padding = 1, .bias = false}>,
                             nn::BatchNorm2d<8>, nn::ReLU, nn::AdaptiveAvgPool2d<1>, nn::Flatten, nn::BatchNorm1d<8>,
                             nn::Linear<8, nn::dyn>>;

std::shared_ptr<DistributedCallback> distributed_callback(LearnerBase& learn) {
  for (const auto& cb : learn.options().cbs)
    if (auto d = std::dynamic_pointer_cast<DistributedCallback>(cb)) return d;
  return nullptr;
}

}  // namespace

TEST_CASE("sync_batchnorm: 2 ranks with batch b end with the weights and BatchNorm statistics of 1 process with 2b",
          "[mpi]") {
  SharedDir t;
  if (rank() == 0) write_colour_dataset(t / "data", 12, 7);  // 36 train items: 4 batches of 8, 4 of 4 a rank
  MPI_Barrier(MPI_COMM_WORLD);
  auto bn_learner = [&](std::int64_t bs, const std::string& dir, std::uint64_t seed) {
    return make_learner(colour_dls(t / "data", bs, 0, 5), BnNet(nn::Build{Rng(seed), 3}), metrics(error_rate),
                        quiet_in(t / dir));
  };
  auto single = bn_learner(8, "single", 0);
  single.fit(3, 1e-2);
  const auto want = weights_of(single.model());  // parameters, then running_mean/var and the batch counts

  auto synced = bn_learner(4, "sync", static_cast<std::uint64_t>(rank()));
  distributed(synced, *mpi_session, {.sync_batchnorm = true});
  synced.fit(3, 1e-2);
  const auto got = weights_of(synced.model());

  auto local = bn_learner(4, "local", static_cast<std::uint64_t>(rank()));
  distributed(local, *mpi_session);
  local.fit(3, 1e-2);
  const auto without = weights_of(local.model());

  INFO("rank " << rank());
  CHECK(max_abs_diff(got, want) <= tolerance);
  CHECK(bit_equal(got, from_rank0(got)));
  CHECK(max_abs_diff(without, want) > 100 * tolerance);  // local statistics: another run
  // the running statistics alone: the 2-rank synchronised ones are the global batch's
  std::vector<float> stats_want, stats_got, stats_local;
  auto stats = [](auto& model, std::vector<float>& out) {
    nn::visit_buffers(model, [&](const std::string&, auto b) {
      if (b.f32) out.insert(out.end(), b.f32->data(), b.f32->data() + b.f32->numel());
    }, std::string{});
  };
  stats(single.model(), stats_want);
  stats(synced.model(), stats_got);
  stats(local.model(), stats_local);
  CHECK(max_abs_diff(stats_got, stats_want) <= tolerance);
  CHECK(max_abs_diff(stats_local, stats_want) > 100 * tolerance);
  UNSCOPED_INFO("sync: " << max_abs_diff(got, want) << ", local: " << max_abs_diff(without, want));
}

TEST_CASE("gradient buckets overlapped with backward: the same bits as after it, started during backward", "[mpi]") {
  SharedDir t;
  if (rank() == 0) write_colour_dataset(t / "data", 12, 7);
  MPI_Barrier(MPI_COMM_WORLD);
  // tiny buckets: one per parameter or so, so several start while backward still runs
  std::vector<float> result[2];
  std::size_t overlapped[2] = {0, 0}, buckets[2] = {0, 0};
  for (int overlap = 0; overlap < 2; ++overlap) {
    auto learn = learner(t / "data", t / ("o" + std::to_string(overlap)), 4);
    distributed(learn, *mpi_session, {.bucket_bytes = 64, .first_bucket_bytes = 64, .overlap = overlap == 1});
    const auto cb = distributed_callback(learn);
    REQUIRE(cb);
    learn.fit(2, 1e-2);
    result[overlap] = weights_of(learn.model());
    overlapped[overlap] = cb->started_in_backward();
    buckets[overlap] = cb->buckets();
  }
  INFO("rank " << rank());
  CHECK(bit_equal(result[0], result[1]));
  CHECK(buckets[1] >= 4);
  CHECK(overlapped[0] == 0);
  // every bucket but those of the first layer (the last to finish: nothing runs after it) started early
  CHECK(overlapped[1] >= buckets[1] - 2);
  CHECK(overlapped[1] > 0);
}
