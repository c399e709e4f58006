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
//   - after each backward, the gradients are averaged with ncclAllReduce(ncclAvg) in buckets of about
//     bucket_bytes (consecutive trainable parameters; a bucket of one parameter is reduced in place, larger
//     ones packed into a device buffer), all buckets in one ncclGroupStart/End, on the learner's stream;
//   - BatchNorm's statistics stay local to each rank; validation sums are added over the ranks (NcclGroup::sum);
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
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "../core/device.hpp"
#include "../core/error.hpp"
#include "../learner/callback.hpp"
#include "../learner/learner_base.hpp"
#include "../learner/process_group.hpp"

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
struct NcclGradPart {
  float* grad;
  std::size_t n;
};

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
  // Throws if the calling thread's current device is not the group's.
  void check_device(const char* where) const;

 private:
  struct State;
  std::unique_ptr<State> s_;
  int rank_ = 0, size_ = 1, device_ = 0;
};

struct NcclOptions {
  std::size_t bucket_bytes = 25u << 20;  // PyTorch DDP's default bucket size (25 MiB)
};

// Broadcasts rank 0's weights before each fit, averages each batch's loss and, after each backward, the
// gradients over the ranks of an NcclGroup (see the top of this file).
class NcclDistributedCallback final : public Callback {
 public:
  NcclDistributedCallback(std::shared_ptr<NcclGroup> group, NcclOptions o = {}) : group_(std::move(group)), o_(o) {
    check<ValueError>(group_ != nullptr, "distributed: the NCCL group is null");
    check<ValueError>(o_.bucket_bytes >= sizeof(float), "distributed: bucket_bytes must hold one float, got ",
                      o_.bucket_bytes);
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
  }

  void after_loss(LearnerBase& learn) override {
    if (!learn.state.training) return;
    double loss = learn.state.loss;
    group_->sum(&loss, 1);
    learn.state.loss = loss / group_->size();
  }

  void after_backward(LearnerBase& learn) override {
    plan(learn);
    group_->average_buckets(buckets_);
  }

 private:
  // Consecutive trainable parameters until a bucket holds bucket_bytes (a larger parameter alone in its own),
  // in visit_params' order, the same on every rank. Rebuilt each step: cheap, and freezing changes it.
  void plan(LearnerBase& learn) {
    const std::size_t cap = o_.bucket_bytes / sizeof(float);
    buckets_.clear();
    std::size_t filled = 0;
    learn.visit_params([&](const std::string&, float*, float* grad, std::int64_t n) {
      if (!grad || n == 0) return;  // frozen: no gradient to average
      const auto count = static_cast<std::size_t>(n);
      if (buckets_.empty() || filled + count > cap) {
        buckets_.emplace_back();
        filled = 0;
      }
      buckets_.back().push_back({grad, count});
      filled += count;
    });
  }

  std::shared_ptr<NcclGroup> group_;
  NcclOptions o_;
  std::vector<std::vector<NcclGradPart>> buckets_;
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
