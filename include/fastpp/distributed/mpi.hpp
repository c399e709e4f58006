#pragma once
// Data-parallel training over MPI (link fastpp::mpi; Debian's openmpi-bin and libopenmpi-dev), as
// PyTorch's DistributedDataParallel does it: every process (rank) runs the same program on its own shard
// of each epoch, and the gradients are averaged over the ranks before each optimizer step, so all ranks
// keep the same weights. Launch with mpirun:
//
//   fastpp::MpiSession mpi(argc, argv);              // MPI_Init; a rank that fails aborts the whole job
//   auto learn = vision_learner(dls, ...);
//   fastpp::distributed(learn, mpi);                 // shard the loaders, average gradients, rank 0 prints
//   learn.fine_tune(2);
//
//   mpirun -np 2 ./train
//
// What distributed() does:
//   - loaders: each rank gets its shard of every epoch (data/shard.hpp: PyTorch's DistributedSampler, the
//     train epochs padded so every rank runs the same number of steps); the per-rank batch size is the
//     loader's bs, so the global batch is world * bs;
//   - before each fit, rank 0's weights are copied to every rank (as DDP does when it wraps a model);
//   - the gradients are summed with MPI_Iallreduce in buckets (DDP's sizes: 1 MiB for the first, the last
//     layers' gradients, then 25 MiB), overlapped with the backward pass: a bucket's sum starts as soon as
//     backward has made all its gradients final (Sequential and Residual report them through
//     nn::Ctx::parallel, nn/hooks.hpp) and is driven by an MPI_Testall after each later layer; after the
//     backward, any bucket not started yet is, all are waited for and divided by the number of ranks
//     (DistributedCallback below). The results are the same bits with or without the overlap. On the
//     2-core machine it gained nothing measurable for pets' fashion_resnet (its 0.3M gradients take 0.7 ms
//     to all-reduce, 0.4% of a step; README, "Data-parallel training"), and cost nothing either;
//   - each batch's loss is averaged over the ranks right after the loss (one small all-reduce a step), so
//     the smoothed train loss, the recorder, the progress table and lr_find's curve and decisions are the
//     same on every rank: the whole global batch's;
//   - BatchNorm's statistics stay local to each rank (PyTorch's default); with
//     distributed(learn, mpi, {.sync_batchnorm = true}) they are the global batch's, as PyTorch's
//     SyncBatchNorm: in training, the per-channel sums of x and x^2 and the count are all-reduced before
//     normalising (the running estimates follow the global statistics) and the sums of dy and dy*xhat in
//     backward; the cpu's kernels only (another device refuses it with a sentence);
//   - validation: each rank validates its shard (not padded) and the sums are added over ranks, so
//     valid_loss and the metrics are those of the whole validation set, on every rank;
//   - only rank 0 shows the progress table and writes checkpoints (the others wait for the file);
//     plots and prints of the program itself should test learn.is_main_process().
// Every rank must run the same steps: a callback that cancels a batch, a step or a fit on one rank only
// leaves the others waiting in a collective (the fastpp callbacks decide from the averaged loss).
//
// Failure: a rank that throws leaves the others blocked in their next collective. MpiSession turns an
// exception that leaves main (std::terminate) into MPI_Abort, and run_distributed() catches, prints the
// error with the rank and aborts, so mpirun ends every rank with the error shown rather than hanging.
// A rank that hangs instead (or stops calling collectives) is caught by a timeout: fastpp's collectives
// are non-blocking ones waited for at most FASTPP_MPI_TIMEOUT seconds (default 600; 0: no limit), after
// which the waiting rank aborts the job, naming the collective.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../core/error.hpp"
#include "../learner/callback.hpp"
#include "../learner/learner_base.hpp"
#include "../learner/process_group.hpp"
#include "../nn/hooks.hpp"
#include "grad_buckets.hpp"

namespace fastpp {

namespace mpi_detail {

inline void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(detail::msg("MPI: ", what, " failed: ", std::string(text, static_cast<std::size_t>(len))));
}

inline int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

// Prints the error with the rank and takes the whole job down (mpirun ends every rank).
[[noreturn]] inline void abort_job(const std::string& what) {
  std::cerr << "fastpp: rank " << world_rank() << " failed: " << what << "\nfastpp: aborting the MPI job"
            << std::endl;
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

// Seconds a collective may wait for the other ranks (FASTPP_MPI_TIMEOUT; 0: no limit).
inline double collective_timeout() {
  const char* e = std::getenv("FASTPP_MPI_TIMEOUT");
  if (!e || !*e) return 600.0;
  char* end = nullptr;
  const double v = std::strtod(e, &end);
  check<ValueError>(end && *end == '\0' && v >= 0.0, "FASTPP_MPI_TIMEOUT must be a number of seconds >= 0, got \"",
                    e, "\"");
  return v;
}

// Waits for non-blocking collectives; past the timeout, aborts the job naming the collective (the other
// rank has hung or stopped calling them, and a blocking wait would never return). Polls MPI_Testall at full
// speed for the first spin_seconds (where collectives between ranks that keep pace end), then sleeps between
// polls, 50 us doubling up to 500 us, so a rank that waits for a slower one leaves its core to the others
// (Open MPI progresses the collective only inside MPI calls: each poll is also what moves it on).
inline constexpr double spin_seconds = 2e-3;
inline void wait_all(std::vector<MPI_Request>& reqs, const char* what) {
  const double limit = collective_timeout();
  const double t0 = MPI_Wtime();
  std::chrono::microseconds nap{50};
  for (;;) {
    int done = 0;
    check_mpi(MPI_Testall(static_cast<int>(reqs.size()), reqs.data(), &done, MPI_STATUSES_IGNORE), what);
    if (done) return;
    const double waited = MPI_Wtime() - t0;
    if (limit > 0.0 && waited > limit)
      abort_job(detail::msg(what, " did not complete within ", limit,
                            " s (FASTPP_MPI_TIMEOUT): another rank has stopped or hangs"));
    if (waited < spin_seconds) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(nap);
      nap = std::min(nap * 2, std::chrono::microseconds{500});
    }
  }
}
inline void wait_one(MPI_Request req, const char* what) {
  std::vector<MPI_Request> reqs{req};
  wait_all(reqs, what);
}

[[noreturn]] inline void on_terminate() {
  std::string what = "std::terminate (no exception)";
  if (const auto e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      what = ex.what();
    } catch (...) {
      what = "an exception that is not a std::exception";
    }
  }
  abort_job(what);
}

}  // namespace mpi_detail

// MPI for the life of the program: MPI_Init_thread (funneled: only the thread that trains calls MPI) and
// MPI_Finalize. While it lives, an exception that escapes (std::terminate) aborts the MPI job.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv) {
    int ready = 0;
    MPI_Initialized(&ready);
    check<Error>(!ready, "MpiSession: MPI is already initialised (one MpiSession per program)");
    int provided = 0;
    mpi_detail::check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    previous_ = std::set_terminate(mpi_detail::on_terminate);
  }
  ~MpiSession() {
    std::set_terminate(previous_);
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  bool is_main() const noexcept { return rank_ == 0; }

 private:
  int rank_ = 0, size_ = 1;
  std::terminate_handler previous_ = nullptr;
};

// Runs fn(); an exception from it is printed with the rank and aborts the job (MPI_Abort), so the other
// ranks, blocked in a collective, end too. Returns fn's result.
template <class Fn>
int run_distributed(Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    mpi_detail::abort_job(e.what());
  } catch (...) {
    mpi_detail::abort_job("an exception that is not a std::exception");
  }
}

// A ProcessGroup over a private copy of MPI_COMM_WORLD (so fastpp's collectives never match a program's).
class MpiGroup final : public ProcessGroup {
 public:
  MpiGroup() {
    mpi_detail::check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiGroup() override {
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Comm_free(&comm_);
  }
  MpiGroup(const MpiGroup&) = delete;
  MpiGroup& operator=(const MpiGroup&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  MPI_Comm comm() const noexcept { return comm_; }
  void sum(double* values, std::size_t n) override {
    MPI_Request r = MPI_REQUEST_NULL;
    mpi_detail::check_mpi(MPI_Iallreduce(MPI_IN_PLACE, values, static_cast<int>(n), MPI_DOUBLE, MPI_SUM, comm_, &r),
                          "MPI_Iallreduce (losses, validation sums)");
    mpi_detail::wait_one(r, "MPI_Iallreduce (losses, validation sums)");
  }
  void barrier() override {
    MPI_Request r = MPI_REQUEST_NULL;
    mpi_detail::check_mpi(MPI_Ibarrier(comm_, &r), "MPI_Ibarrier");
    mpi_detail::wait_one(r, "MPI_Ibarrier (checkpoint written by rank 0)");
  }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
};

struct DistributedOptions {
  std::size_t bucket_bytes = 25u << 20;       // PyTorch DDP's default bucket size (25 MiB) ...
  std::size_t first_bucket_bytes = 1u << 20;  // ... and its first bucket's (1 MiB): the last layers' gradients,
                                              // final first in backward, start their sum early
  // Start each bucket's all-reduce during backward, as soon as its gradients are final (false: all of them
  // after the backward pass, as before; the sums are the same bits either way).
  bool overlap = true;
  // PyTorch's SyncBatchNorm: in training, BatchNorm's statistics are those of the global batch (the
  // per-channel sums of x, x^2 and the count summed over ranks before normalising, the sums of dy and dy*xhat
  // in backward), so 2 ranks of batch b train as 1 process of batch 2b. Two small all-reduces per BatchNorm
  // layer and step, blocking. Off: each rank's statistics are its own (DDP's default).
  bool sync_batchnorm = false;
};

// Broadcasts rank 0's weights before each fit and averages the gradients of each backward.
//
// Buckets (GradBuckets, grad_buckets.hpp: PyTorch DDP's plan). During backward, Sequential and Residual
// report each child's final gradients (nn::GradReady, through Ctx::parallel); when the last gradient of a
// bucket arrives, the bucket is packed and its MPI_Iallreduce started, and after each later layer's backward
// an MPI_Testall drives the sums in flight (Open MPI progresses a non-blocking collective only inside MPI
// calls). after_backward starts any bucket not started yet (a model whose layers report nothing, e.g. a
// single layer or a custom container), waits for all and writes the averages back. Every rank starts the
// same buckets in the same order (the same model runs the same backward), and each bucket's sum is the same
// whenever it starts: the results do not depend on the overlap.
class DistributedCallback final : public Callback, public nn::GradReady, public nn::ProcessSum {
 public:
  DistributedCallback(std::shared_ptr<MpiGroup> group, DistributedOptions o = {})
      : group_(std::move(group)), o_(o), plan_(o.bucket_bytes, o.first_bucket_bytes) {}
  std::string name() const override { return "DistributedCallback"; }
  int order() const override { return -100; }  // before any callback that reads the averaged gradients

  void before_fit(LearnerBase& learn) override {
    learn.visit_params([&](const std::string& name, float* value, float*, std::int64_t n) {
      check<ValueError>(n <= std::int64_t{std::numeric_limits<int>::max()}, "distributed: parameter ", name, " has ", n,
                        " elements, more than one MPI message holds");
      MPI_Request r = MPI_REQUEST_NULL;
      mpi_detail::check_mpi(MPI_Ibcast(value, static_cast<int>(n), MPI_FLOAT, 0, group_->comm(), &r),
                            "MPI_Ibcast (rank 0's weights)");
      mpi_detail::wait_one(r, "MPI_Ibcast (rank 0's weights)");
    });
    learn.parallel_hooks.arm(group_->size() > 1 && o_.overlap ? this : nullptr, o_.sync_batchnorm ? this : nullptr);
  }
  void after_fit(LearnerBase& learn) override {
    learn.parallel_hooks.disarm(this, this);
    armed_ = false;
  }

  // The last step's buckets, and how many of them started during its backward (the rest after it).
  std::size_t buckets() const noexcept { return plan_.buckets().size(); }
  std::size_t started_in_backward() const noexcept { return started_in_backward_; }

  // nn::ProcessSum: BatchNorm's statistics with sync_batchnorm.
  void sum(double* values, std::int64_t n) override { group_->sum(values, static_cast<std::size_t>(n)); }

  void after_loss(LearnerBase& learn) override {
    if (group_->size() == 1 || !learn.state.training) return;
    double loss = learn.state.loss;
    group_->sum(&loss, 1);
    learn.state.loss = loss / group_->size();
    // The buckets of this step's backward, ready to take the gradients as they become final.
    replan(learn);
    plan_.arm();
    std::fill(reqs_.begin(), reqs_.end(), MPI_REQUEST_NULL);
    in_flight_ = 0;
    started_in_backward_ = 0;
    armed_ = true;
  }

  // nn::GradReady, during backward.
  void grad_ready(const float* grad) override {
    if (!armed_) return;
    const std::size_t b = plan_.ready(grad);
    if (b == GradBuckets::none) return;
    start(b);
    ++started_in_backward_;
  }
  void layer_done() override {
    if (!armed_ || in_flight_ == 0) return;
    int done = 0;
    mpi_detail::check_mpi(MPI_Testall(static_cast<int>(reqs_.size()), reqs_.data(), &done, MPI_STATUSES_IGNORE),
                          "MPI_Testall (gradients)");
    if (done) in_flight_ = 0;  // every request completed is MPI_REQUEST_NULL now
  }

  void after_backward(LearnerBase& learn) override {
    if (group_->size() == 1) return;
    if (!armed_) {  // no after_loss seen for this step (it always runs first in fastpp's train_batch)
      replan(learn);
      plan_.arm();
      std::fill(reqs_.begin(), reqs_.end(), MPI_REQUEST_NULL);
    }
    armed_ = false;
    for (std::size_t b = 0; b < plan_.buckets().size(); ++b)
      if (!plan_.buckets()[b].started) start(b);
    mpi_detail::wait_all(reqs_, "MPI_Iallreduce (gradients)");
    const float scale = 1.0f / static_cast<float>(group_->size());
    const auto& parts = plan_.parts();
    for (std::size_t b = 0; b < plan_.buckets().size(); ++b) {
      const GradBuckets::Bucket& bk = plan_.buckets()[b];
      const float* sums = buffers_[b].data();
      for (std::size_t k = bk.first; k < bk.first + bk.count; ++k) {
        for (std::size_t i = 0; i < parts[k].n; ++i) parts[k].grad[i] = sums[i] * scale;
        sums += parts[k].n;
      }
    }
  }

 private:
  // Packs bucket b into its buffer and starts its sum.
  void start(std::size_t b) {
    GradBuckets::Bucket& bk = plan_.buckets()[b];
    float* at = buffers_[b].data();
    for (std::size_t k = bk.first; k < bk.first + bk.count; ++k) {
      const GradBuckets::Part& p = plan_.parts()[k];
      at = std::copy(p.grad, p.grad + p.n, at);
    }
    mpi_detail::check_mpi(MPI_Iallreduce(MPI_IN_PLACE, buffers_[b].data(), static_cast<int>(bk.size), MPI_FLOAT,
                                         MPI_SUM, group_->comm(), &reqs_[b]),
                          "MPI_Iallreduce (gradients)");
    bk.started = true;
    ++in_flight_;
  }

  // The plan over the trainable parameters (GradBuckets), with a host buffer and a request per bucket.
  void replan(LearnerBase& learn) {
    if (!plan_.plan(learn, std::numeric_limits<int>::max())) return;
    buffers_.resize(plan_.buckets().size());
    for (std::size_t b = 0; b < buffers_.size(); ++b) buffers_[b].resize(plan_.buckets()[b].size);
    reqs_.assign(buffers_.size(), MPI_REQUEST_NULL);
  }

  std::shared_ptr<MpiGroup> group_;
  DistributedOptions o_;
  GradBuckets plan_;
  std::vector<std::vector<float>> buffers_;  // per bucket: its gradients packed, then their sums
  std::vector<MPI_Request> reqs_;            // one per bucket; MPI_REQUEST_NULL when not in flight
  std::size_t in_flight_ = 0, started_in_backward_ = 0;
  bool armed_ = false;  // between after_loss and after_backward of a training step
};

// Makes learn one rank of a data-parallel run over every process of the session (see the top of this
// file): shards its loaders, gives it the group, adds the DistributedCallback to every fit.
template <class Learner>
Learner& distributed(Learner& learn, const MpiSession& session, DistributedOptions o = {}) {
  check<ValueError>(learn.process_group() == nullptr, "distributed: this learner is already distributed");
  auto group = std::make_shared<MpiGroup>();
  check<Error>(group->rank() == session.rank(), "distributed: rank ", group->rank(), " differs from the session's ",
               session.rank());
  learn.dls() = learn.dls().shard(group->rank(), group->size());
  learn.set_process_group(group);
  learn.add_cb(std::make_shared<DistributedCallback>(group, o));
  return learn;
}

}  // namespace fastpp
