#pragma once
// Data-parallel training over NCCL on NVIDIA GPUs (link fastpp::nccl, built where fastpp::cuda is and NCCL is
// found: cmake/FastppNccl.cmake), as PyTorch's DistributedDataParallel with the nccl backend: one process per
// GPU, each training a learner whose model lives on the cuda device, on its own shard of every epoch; the
// gradients are averaged over the ranks on the GPUs before each optimizer step. Plain C++: no CUDA or NCCL
// header is needed to include this file (the communicator is opaque, the calls live in the compiled library).
//
//   // one process per GPU, launched by mpirun (FASTPP_HAVE_MPI: link fastpp::mpi too):
//   fastpp::MpiSession mpi(argc, argv);
//   auto nccl = fastpp::nccl_group_over_mpi();       // rank 0 makes the unique id, MPI carries it; one GPU each
//   auto learn = make_learner(dls, nn::on_device_t<Net, fastpp::cuda>(...), ...);
//   fastpp::distributed(learn, nccl);
//   learn.fine_tune(2);
//
//   // or any launcher that hands every process the same NcclId bytes (a file, a socket, an environment):
//   auto nccl = std::make_shared<fastpp::NcclGroup>(id, rank, world, /*device=*/local_rank);
//   // a single process and its one GPU (world 1): the same code path, every collective a copy
//   auto nccl = std::make_shared<fastpp::NcclGroup>();
//
// distributed(learn, nccl) does what distributed(learn, mpi) does (fastpp/distributed/mpi.hpp):
//   - the loaders are sharded (data/shard.hpp: PyTorch's DistributedSampler), per-rank batch = the loader's bs;
//   - before each fit, rank 0's weights are copied to every rank (ncclBroadcast of every parameter, grouped);
//   - each batch's loss is averaged over the ranks right after the loss (NcclGroup::sum of one double), so the
//     smoothed loss, the recorder, the table and lr_find see the whole global batch's loss on every rank;
//   - the gradients are averaged with ncclAllReduce(ncclAvg) in buckets of about bucket_bytes (the trainable
//     parameters in reverse order, first_bucket_bytes for the first: DDP's sizes; a bucket of one parameter is
//     reduced in place, larger ones packed into a device buffer), on the learner's stream. With `overlap` (the
//     default) a bucket's all-reduce is queued during backward as soon as its last gradient is reported final
//     (nn::GradReady through nn::Ctx::parallel, as the MPI path): the stream runs it after the kernels that
//     made those gradients and before the rest of backward, and the host never waits for it. On one stream
//     NCCL's kernel runs between backward's kernels, not beside them (running beside them would need a
//     stream of its own and events). Buckets that no layer reported (a model of one layer, a custom
//     container) are queued after backward; the buckets and their sums are the same either way, so the
//     results do not depend on the overlap;
//   - BatchNorm's statistics stay local to each rank unless `sync_batchnorm` (PyTorch's SyncBatchNorm): then
//     the per-channel sums that nn/norm.hpp makes stay on the GPU and are added over the ranks there
//     (ncclAllReduce(ncclSum) of doubles, ProcessSum::sum_device), with one waited sum of the row count per
//     BatchNorm forward; validation sums are added over the ranks (NcclGroup::sum);
//   - only rank 0 shows the progress table and writes checkpoints (set_process_group: the others wait).
// Differences from the MPI path:
//   - the collectives run on the GPU, queued on the learner's stream (the current stream inside fit, validate,
//     get_preds): the gradients never come to the host, and the host does not wait for the all-reduce; it
//     waits where it needs a value (sum, barrier), and the learner's next loss read waits for the stream;
//   - the collectives also run when world is 1 (the MPI path skips them there): a 1-rank job goes through
//     every NCCL call, and its weights are the plain GPU run's (an average over one rank is a copy);
//   - failure: there is no MPI_Abort. Where the host waits (sum, barrier, and so each step's loss average,
//     which follows the previous step's gradient all-reduce on the stream) it polls the stream and the
//     communicator's asynchronous error for at most FASTPP_NCCL_TIMEOUT seconds (default 600; 0: no limit);
//     an NCCL error or the timeout aborts the communicator (ncclCommAbort, which frees the queued kernels)
//     and throws a fastpp::Error naming the collective. Launched by mpirun, run the training in
//     run_distributed() (mpi.hpp) so that error takes the whole job down.
// Every rank must run the same steps with the same parameters trainable (a frozen parameter has no gradient
// and is left out of the buckets, the same on every rank).
#if !defined(FASTPP_WITH_NCCL)
#error "fastpp/distributed/nccl.hpp belongs to fastpp::nccl: configure where CUDA and NCCL are found, link fastpp::nccl"
#endif
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/device.hpp"
#include "../core/error.hpp"
#include "../learner/callback.hpp"
#include "../learner/learner_base.hpp"
#include "../learner/process_group.hpp"
#include "../nn/hooks.hpp"
#include "grad_buckets.hpp"

#if defined(FASTPP_HAVE_MPI)
#include <mpi.h>
#endif

namespace fastpp {

// NCCL's unique id (ncclUniqueId, NCCL_UNIQUE_ID_BYTES): made by one process, handed to all of them.
struct NcclId {
  std::array<char, 128> bytes{};
};
NcclId nccl_unique_id();    // ncclGetUniqueId
int cuda_device_count();    // cudaGetDeviceCount (0 without a GPU or driver)

// One GPU's buffer whose gradients are averaged (a parameter's gradient, device memory).
using NcclGradPart = GradBuckets::Part;

// A ProcessGroup over an NCCL communicator, one rank per process and GPU. Its collectives run on the current
// stream (inside a learner's fit: the learner's own); sum and barrier wait for their result, broadcast and
// average_buckets do not.
class NcclGroup final : public ProcessGroup {
 public:
  // This process alone, on the current device (world 1).
  NcclGroup();
  // Rank `rank` of `world` processes that share `id`; every one of them must construct its group (the
  // constructor returns when all have). device >= 0 makes that GPU the calling thread's current device first;
  // -1 keeps the current device.
  NcclGroup(const NcclId& id, int rank, int world, int device = -1);
  ~NcclGroup() override;
  NcclGroup(const NcclGroup&) = delete;
  NcclGroup& operator=(const NcclGroup&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int device() const noexcept { return device_; }
  // Element-wise sum of host doubles over the ranks (through a small device buffer), waited for.
  void sum(double* values, std::size_t n) override;
  // Returns once every rank has called it (an all-reduce of one value, waited for).
  void barrier() override;
  // Every rank's device_values[0, n) become root's; queued on the current stream, not waited for. All the
  // broadcasts between begin_group() and end_group() go to NCCL as one group (ncclGroupStart/End).
  void broadcast(float* device_values, std::size_t n, int root);
  void begin_group();
  void end_group();
  // Each bucket's gradients become their average over the ranks; one ncclAllReduce per bucket, all in one
  // group, queued on the current stream.
  void average_buckets(const std::vector<std::vector<NcclGradPart>>& buckets);
  // One bucket (parts[0, count)) averaged over the ranks: packed (more than one part), one ncclAllReduce,
  // unpacked, queued on the current stream, not waited for. Buckets queued one after another on one stream
  // share the packed buffer (the stream orders them).
  void average_bucket(const NcclGradPart* parts, std::size_t count);
  // Element-wise sum of device doubles over the ranks, in place (ncclAllReduce, ncclSum), queued on the
  // current stream, not waited for.
  void sum_device(double* device_values, std::size_t n);
  // Throws if the calling thread's current device is not the group's.
  void check_device(const char* where) const;

 private:
  struct State;
  std::unique_ptr<State> s_;
  int rank_ = 0, size_ = 1, device_ = 0;
};

struct NcclOptions {
  std::size_t bucket_bytes = 25u << 20;       // PyTorch DDP's default bucket size (25 MiB) ...
  std::size_t first_bucket_bytes = 1u << 20;  // ... and its first bucket's (1 MiB): the last layers' gradients
  // Queue each bucket's all-reduce during backward, as soon as its gradients are final (false: all of them
  // after the backward pass; the averages are the same bits either way).
  bool overlap = true;
  // PyTorch's SyncBatchNorm: BatchNorm's training statistics are the global batch's (the sums over the ranks
  // on the GPUs; see the top of this file). Off: each rank's own (DDP's default).
  bool sync_batchnorm = false;
};

// Broadcasts rank 0's weights before each fit, averages each batch's loss and the gradients of each backward
// over the ranks of an NcclGroup (see the top of this file); with sync_batchnorm, sums BatchNorm's statistics
// over the ranks. During a fit it is the learner's nn::GradReady (with overlap) and nn::ProcessSum (with
// sync_batchnorm), through LearnerBase::parallel_hooks.
class NcclDistributedCallback final : public Callback, public nn::GradReady, public nn::ProcessSum {
 public:
  NcclDistributedCallback(std::shared_ptr<NcclGroup> group, NcclOptions o = {})
      : group_(std::move(group)), o_(o), plan_(o.bucket_bytes, o.first_bucket_bytes) {
    check<ValueError>(group_ != nullptr, "distributed: the NCCL group is null");
  }
  std::string name() const override { return "NcclDistributedCallback"; }
  int order() const override { return -100; }  // before any callback that reads the averaged gradients

  void before_fit(LearnerBase& learn) override {
    group_->check_device("distributed (NCCL): fit");
    group_->begin_group();
    try {
      learn.visit_params([&](const std::string&, float* value, float*, std::int64_t n) {
        group_->broadcast(value, static_cast<std::size_t>(n), 0);
      });
    } catch (...) {
      group_->end_group();
      throw;
    }
    group_->end_group();
    // The collectives also run at world 1 here (see the top of this file): so do the hooks.
    learn.parallel_hooks.arm(o_.overlap ? this : nullptr, o_.sync_batchnorm ? this : nullptr);
  }
  void after_fit(LearnerBase& learn) override {
    learn.parallel_hooks.disarm(this, this);
    armed_ = false;
  }

  // The last step's buckets, and how many of them were queued during its backward (the rest after it).
  std::size_t buckets() const noexcept { return plan_.buckets().size(); }
  std::size_t started_in_backward() const noexcept { return started_in_backward_; }

  // nn::ProcessSum (sync_batchnorm): host values summed and waited for; device values summed on the GPU,
  // queued on the learner's stream.
  void sum(double* values, std::int64_t n) override { group_->sum(values, static_cast<std::size_t>(n)); }
  bool sum_device(double* device_values, std::int64_t n) override {
    group_->sum_device(device_values, static_cast<std::size_t>(n));
    return true;
  }

  void after_loss(LearnerBase& learn) override {
    if (!learn.state.training) return;
    double loss = learn.state.loss;
    group_->sum(&loss, 1);
    learn.state.loss = loss / group_->size();
    // The buckets of this step's backward, ready to take the gradients as they become final.
    plan_.plan(learn);
    plan_.arm();
    started_in_backward_ = 0;
    armed_ = true;
  }

  // nn::GradReady, during backward: a bucket whose last gradient is final is queued on the stream now.
  void grad_ready(const float* grad) override {
    if (!armed_) return;
    const std::size_t b = plan_.ready(grad);
    if (b == GradBuckets::none) return;
    start(b);
    ++started_in_backward_;
  }
  // Nothing to drive: the stream runs the queued all-reduces in order.
  void layer_done() override {}

  void after_backward(LearnerBase& learn) override {
    if (!armed_) {  // no after_loss seen for this step (it always runs first in fastpp's train_batch)
      plan_.plan(learn);
      plan_.arm();
    }
    armed_ = false;
    for (std::size_t b = 0; b < plan_.buckets().size(); ++b)
      if (!plan_.buckets()[b].started) start(b);
  }

 private:
  void start(std::size_t b) {
    GradBuckets::Bucket& bk = plan_.buckets()[b];
    group_->average_bucket(plan_.parts().data() + bk.first, bk.count);
    bk.started = true;
  }

  std::shared_ptr<NcclGroup> group_;
  NcclOptions o_;
  GradBuckets plan_;
  std::size_t started_in_backward_ = 0;
  bool armed_ = false;  // between after_loss and after_backward of a training step
};

// Makes learn (a learner whose model lives on the cuda device) one rank of a data-parallel run over the
// group's processes: shards its loaders, gives it the group, adds the NcclDistributedCallback to every fit.
template <class Learner>
Learner& distributed(Learner& learn, std::shared_ptr<NcclGroup> group, NcclOptions o = {}) {
  static_assert(std::is_same_v<typename Learner::device_type, fastpp::cuda>,
                "distributed over NCCL: the learner's model must live on the cuda device (nn::on_device_t<Net, cuda>)");
  check<ValueError>(group != nullptr, "distributed: the NCCL group is null");
  check<ValueError>(learn.process_group() == nullptr, "distributed: this learner is already distributed");
  learn.dls() = learn.dls().shard(group->rank(), group->size());
  learn.set_process_group(group);
  learn.add_cb(std::make_shared<NcclDistributedCallback>(group, o));
  return learn;
}

#if defined(FASTPP_HAVE_MPI)
// The NCCL group of the processes of `comm` (an MPI job, e.g. launched by mpirun; MPI initialised, as by an
// MpiSession): rank 0 makes the unique id and MPI broadcasts it; each process takes the GPU of its rank on its
// node (the local rank modulo the visible GPUs), so one process per GPU.
inline std::shared_ptr<NcclGroup> nccl_group_over_mpi(MPI_Comm comm = MPI_COMM_WORLD) {
  auto ok = [](int rc, const char* what) {
    check<Error>(rc == MPI_SUCCESS, "nccl_group_over_mpi: ", what, " failed (MPI error ", rc, ")");
  };
  int rank = 0, world = 1;
  ok(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  ok(MPI_Comm_size(comm, &world), "MPI_Comm_size");
  NcclId id;
  if (rank == 0) id = nccl_unique_id();
  ok(MPI_Bcast(id.bytes.data(), static_cast<int>(id.bytes.size()), MPI_BYTE, 0, comm), "MPI_Bcast (NCCL id)");
  MPI_Comm node = MPI_COMM_NULL;
  ok(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
  int local = 0;
  const int rc = MPI_Comm_rank(node, &local);
  MPI_Comm_free(&node);
  ok(rc, "MPI_Comm_rank (node)");
  const int gpus = cuda_device_count();
  check<Error>(gpus > 0, "nccl_group_over_mpi: rank ", rank, " sees no GPU");
  return std::make_shared<NcclGroup>(id, rank, world, local % gpus);
}
#endif

}  // namespace fastpp
