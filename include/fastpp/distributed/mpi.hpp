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
//   - after each backward, the gradients are summed with MPI_Iallreduce in buckets of about
//     bucket_bytes (all buckets in flight together, then waited for) and divided by the number of ranks.
//     This runs after the backward pass, not overlapped with it (the layers give no per-layer hook yet);
//   - each batch's loss is averaged over the ranks right after the loss (one small all-reduce a step), so
//     the smoothed train loss, the recorder, the progress table and lr_find's curve and decisions are the
//     same on every rank: the whole global batch's;
//   - BatchNorm's statistics stay local to each rank (PyTorch's default; there is no SyncBatchNorm);
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
// rank has hung or stopped calling them, and a blocking wait would never return).
inline void wait_all(std::vector<MPI_Request>& reqs, const char* what) {
  const double limit = collective_timeout();
  const double t0 = MPI_Wtime();
  for (;;) {
    int done = 0;
    check_mpi(MPI_Testall(static_cast<int>(reqs.size()), reqs.data(), &done, MPI_STATUSES_IGNORE), what);
    if (done) return;
    if (limit > 0.0 && MPI_Wtime() - t0 > limit)
      abort_job(detail::msg(what, " did not complete within ", limit,
                            " s (FASTPP_MPI_TIMEOUT): another rank has stopped or hangs"));
    std::this_thread::yield();
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
  std::size_t bucket_bytes = 25u << 20;  // PyTorch DDP's default bucket size (25 MiB)
};

// Broadcasts rank 0's weights before each fit and averages the gradients after each backward.
class DistributedCallback final : public Callback {
 public:
  DistributedCallback(std::shared_ptr<MpiGroup> group, DistributedOptions o = {}) : group_(std::move(group)), o_(o) {
    check<ValueError>(o_.bucket_bytes >= sizeof(float), "distributed: bucket_bytes must hold one float, got ",
                      o_.bucket_bytes);
  }
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
  }

  void after_loss(LearnerBase& learn) override {
    if (group_->size() == 1 || !learn.state.training) return;
    double loss = learn.state.loss;
    group_->sum(&loss, 1);
    learn.state.loss = loss / group_->size();
  }

  void after_backward(LearnerBase& learn) override {
    if (group_->size() == 1) return;
    plan(learn);
    // Pack every bucket and start its sum at once; the later buckets are packed while the first travel.
    std::vector<MPI_Request> reqs(buckets_.size(), MPI_REQUEST_NULL);
    for (std::size_t b = 0; b < buckets_.size(); ++b) {
      Bucket& bk = buckets_[b];
      std::size_t at = 0;
      for (const auto& p : bk.parts) {
        std::copy(p.grad, p.grad + p.n, bk.buffer.data() + at);
        at += p.n;
      }
      mpi_detail::check_mpi(MPI_Iallreduce(MPI_IN_PLACE, bk.buffer.data(), static_cast<int>(bk.buffer.size()),
                                           MPI_FLOAT, MPI_SUM, group_->comm(), &reqs[b]),
                            "MPI_Iallreduce (gradients)");
    }
    mpi_detail::wait_all(reqs, "MPI_Iallreduce (gradients)");
    const float scale = 1.0f / static_cast<float>(group_->size());
    for (Bucket& bk : buckets_) {
      std::size_t at = 0;
      for (const auto& p : bk.parts) {
        for (std::size_t i = 0; i < p.n; ++i) p.grad[i] = bk.buffer[at + i] * scale;
        at += p.n;
      }
    }
  }

 private:
  struct Part {
    float* grad;
    std::size_t n;
  };
  struct Bucket {
    std::vector<Part> parts;
    std::vector<float> buffer;
  };

  // The buckets, in parameter order: consecutive trainable parameters until a bucket holds bucket_bytes (a larger
  // parameter alone in its own). Rebuilt each step: cheap, and the pointers move when a learner does.
  void plan(LearnerBase& learn) {
    const std::size_t cap = o_.bucket_bytes / sizeof(float);
    std::size_t k = 0;
    auto open = [&]() -> Bucket& {
      if (k == buckets_.size()) buckets_.emplace_back();
      Bucket& b = buckets_[k++];
      b.parts.clear();
      return b;
    };
    Bucket* cur = nullptr;
    std::size_t filled = 0;
    learn.visit_params([&](const std::string& name, float*, float* grad, std::int64_t n) {
      if (!grad) return;  // frozen: no gradient to average (fine_tune's first phase sends the head's only)
      const auto count = static_cast<std::size_t>(n);
      check<ValueError>(n <= std::int64_t{std::numeric_limits<int>::max()}, "distributed: parameter ", name, " has ", n,
                        " elements, more than one MPI message holds");
      if (!cur || filled + count > cap) {
        cur = &open();
        filled = 0;
      }
      cur->parts.push_back({grad, count});
      filled += count;
    });
    buckets_.resize(k);
    for (Bucket& b : buckets_) {
      std::size_t total = 0;
      for (const auto& p : b.parts) total += p.n;
      b.buffer.resize(total);
    }
  }

  std::shared_ptr<MpiGroup> group_;
  DistributedOptions o_;
  std::vector<Bucket> buckets_;
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
