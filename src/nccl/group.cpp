// fastpp::nccl: NcclGroup's communicator and collectives (include/fastpp/distributed/nccl.hpp). Every CUDA
// call is checked by FASTPP_CUDA_CHECK, every NCCL call by FASTPP_NCCL_CHECK; the collectives are queued on
// the current stream (cuda_runtime::stream(): the learner's, inside its fit).
#include <fastpp/distributed/nccl.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "cuda/check.hpp"
#include "cuda/stream.hpp"
#include "nccl/check.hpp"

namespace fastpp {

static_assert(sizeof(ncclUniqueId) == sizeof(NcclId::bytes), "NcclId must hold ncclUniqueId's bytes");

namespace {

// Seconds a waited-for collective may take (FASTPP_NCCL_TIMEOUT; 0: no limit).
double collective_timeout() {
  const char* e = std::getenv("FASTPP_NCCL_TIMEOUT");
  if (!e || !*e) return 600.0;
  char* end = nullptr;
  const double v = std::strtod(e, &end);
  check<ValueError>(end && *end == '\0' && v >= 0.0, "FASTPP_NCCL_TIMEOUT must be a number of seconds >= 0, got \"",
                    e, "\"");
  return v;
}

}  // namespace

struct NcclGroup::State {
  ncclComm_t comm = nullptr;
  cudaEvent_t done = nullptr;
  double* host = nullptr;    // pinned: sum's values on their way to and from the device
  double* values = nullptr;  // device: sum's values
  std::size_t values_n = 0;
  float* packed = nullptr;   // device: the buckets of more than one gradient, end to end
  std::size_t packed_n = 0;

  ncclComm_t live(const char* what) const {
    check<Error>(comm != nullptr, "NCCL: ", what, ": the communicator was aborted after an earlier failure");
    return comm;
  }
  void abort() noexcept {
    if (comm) ncclCommAbort(comm);
    comm = nullptr;
  }
  // Waits for the current stream's work so far (the collective just queued and all before it), polling the
  // communicator's asynchronous error; on an error or past the timeout, aborts the communicator and throws.
  void wait(cudaStream_t stream, const char* what) {
    FASTPP_CUDA_CHECK(cudaEventRecord(done, stream));
    const double limit = collective_timeout();
    const auto t0 = std::chrono::steady_clock::now();
    for (;;) {
      const cudaError_t q = cudaEventQuery(done);
      if (q == cudaSuccess) return;
      if (q != cudaErrorNotReady) FASTPP_CUDA_CHECK(q);
      ncclResult_t async = ncclSuccess;
      FASTPP_NCCL_CHECK(ncclCommGetAsyncError(comm, &async));
      if (async != ncclSuccess && async != ncclInProgress) {
        abort();
        throw Error(detail::msg("NCCL: ", what, " failed: ", nccl_check::result_name(async), " (",
                                ncclGetErrorString(async), "); the communicator is aborted"));
      }
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (limit > 0.0 && waited > limit) {
        abort();
        throw Error(detail::msg("NCCL: ", what, " did not complete within ", limit,
                                " s (FASTPP_NCCL_TIMEOUT): another rank has stopped or hangs; the communicator is "
                                "aborted"));
      }
      std::this_thread::yield();
    }
  }
  // Room for n values in sum's buffers (grown on first use; cudaFree waits for the device's work).
  void reserve_values(std::size_t n) {
    if (n <= values_n) return;
    if (values) FASTPP_CUDA_CHECK(cudaFree(values));
    if (host) FASTPP_CUDA_CHECK(cudaFreeHost(host));
    values = nullptr;
    host = nullptr;
    values_n = 0;
    FASTPP_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&values), n * sizeof(double)));
    FASTPP_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&host), n * sizeof(double)));
    values_n = n;
  }
  // Room for the packed buckets: grown at the first step (and when more parameters become trainable).
  void reserve_packed(std::size_t n) {
    if (n <= packed_n) return;
    if (packed) FASTPP_CUDA_CHECK(cudaFree(packed));
    packed = nullptr;
    packed_n = 0;
    FASTPP_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&packed), n * sizeof(float)));
    packed_n = n;
  }
  // The host's values summed over the ranks on the device, waited for.
  void sum(double* v, std::size_t n, const char* what) {
    ncclComm_t c = live(what);
    if (n == 0) return;
    reserve_values(n);
    const cudaStream_t stream = cuda_runtime::stream();
    const std::size_t bytes = n * sizeof(double);
    std::memcpy(host, v, bytes);
    FASTPP_CUDA_CHECK(cudaMemcpyAsync(values, host, bytes, cudaMemcpyHostToDevice, stream));
    FASTPP_NCCL_CHECK(ncclAllReduce(values, values, n, ncclDouble, ncclSum, c, stream));
    FASTPP_CUDA_CHECK(cudaMemcpyAsync(host, values, bytes, cudaMemcpyDeviceToHost, stream));
    wait(stream, what);
    std::memcpy(v, host, bytes);
  }
};

NcclId nccl_unique_id() {
  ncclUniqueId u;
  FASTPP_NCCL_CHECK(ncclGetUniqueId(&u));
  NcclId id;
  std::memcpy(id.bytes.data(), &u, sizeof u);
  return id;
}

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // no driver or no device: not an error here
    return 0;
  }
  return n;
}

NcclGroup::NcclGroup() : s_(std::make_unique<State>()) {
  FASTPP_CUDA_CHECK(cudaGetDevice(&device_));
  FASTPP_NCCL_CHECK(ncclCommInitAll(&s_->comm, 1, &device_));
  FASTPP_CUDA_CHECK(cudaEventCreateWithFlags(&s_->done, cudaEventDisableTiming));
}

NcclGroup::NcclGroup(const NcclId& id, int rank, int world, int device) : s_(std::make_unique<State>()) {
  check<ValueError>(world >= 1, "NcclGroup: the number of processes must be 1 or more, got ", world);
  check<ValueError>(rank >= 0 && rank < world, "NcclGroup: rank ", rank, " is outside 0..", world - 1);
  check<ValueError>(device >= -1, "NcclGroup: device must be a GPU's index or -1 (the current one), got ", device);
  if (device >= 0) FASTPP_CUDA_CHECK(cudaSetDevice(device));
  FASTPP_CUDA_CHECK(cudaGetDevice(&device_));
  ncclUniqueId u;
  std::memcpy(&u, id.bytes.data(), sizeof u);
  FASTPP_NCCL_CHECK(ncclCommInitRank(&s_->comm, world, u, rank));
  rank_ = rank;
  size_ = world;
  FASTPP_CUDA_CHECK(cudaEventCreateWithFlags(&s_->done, cudaEventDisableTiming));
}

NcclGroup::~NcclGroup() {
  // ncclCommDestroy finalises the communicator (its queued operations end) before freeing it; the buffers go
  // after. A destructor reports nothing: the results are ignored.
  if (s_->comm) (void)ncclCommDestroy(s_->comm);
  if (s_->done) (void)cudaEventDestroy(s_->done);
  if (s_->values) (void)cudaFree(s_->values);
  if (s_->host) (void)cudaFreeHost(s_->host);
  if (s_->packed) (void)cudaFree(s_->packed);
}

void NcclGroup::sum(double* values, std::size_t n) { s_->sum(values, n, "ncclAllReduce (losses, validation sums)"); }

void NcclGroup::barrier() {
  double zero = 0.0;
  s_->sum(&zero, 1, "ncclAllReduce (barrier: checkpoint written by rank 0)");
}

void NcclGroup::broadcast(float* device_values, std::size_t n, int root) {
  ncclComm_t c = s_->live("ncclBroadcast (rank 0's weights)");
  check<ValueError>(root >= 0 && root < size_, "NcclGroup::broadcast: root ", root, " is outside 0..", size_ - 1);
  if (n == 0) return;
  FASTPP_NCCL_CHECK(ncclBroadcast(device_values, device_values, n, ncclFloat, root, c, cuda_runtime::stream()));
}

void NcclGroup::begin_group() { FASTPP_NCCL_CHECK(ncclGroupStart()); }
void NcclGroup::end_group() { FASTPP_NCCL_CHECK(ncclGroupEnd()); }

void NcclGroup::average_buckets(const std::vector<std::vector<NcclGradPart>>& buckets) {
  ncclComm_t c = s_->live("ncclAllReduce (gradients)");
  const cudaStream_t stream = cuda_runtime::stream();
  std::size_t packed = 0;
  for (const auto& b : buckets) {
    if (b.size() > 1)
      for (const auto& p : b) packed += p.n;
  }
  s_->reserve_packed(packed);
  // Where each bucket is reduced: its one gradient in place, or its stretch of the packed buffer.
  std::vector<std::pair<float*, std::size_t>> spans;
  spans.reserve(buckets.size());
  std::size_t at = 0;
  for (const auto& b : buckets) {
    if (b.empty()) continue;
    if (b.size() == 1) {
      spans.emplace_back(b[0].grad, b[0].n);
      continue;
    }
    float* start = s_->packed + at;
    for (const auto& p : b) {
      FASTPP_CUDA_CHECK(
          cudaMemcpyAsync(s_->packed + at, p.grad, p.n * sizeof(float), cudaMemcpyDeviceToDevice, stream));
      at += p.n;
    }
    spans.emplace_back(start, static_cast<std::size_t>(s_->packed + at - start));
  }
  FASTPP_NCCL_CHECK(ncclGroupStart());
  try {
    for (const auto& [ptr, n] : spans) FASTPP_NCCL_CHECK(ncclAllReduce(ptr, ptr, n, ncclFloat, ncclAvg, c, stream));
  } catch (...) {
    (void)ncclGroupEnd();
    throw;
  }
  FASTPP_NCCL_CHECK(ncclGroupEnd());
  at = 0;
  for (const auto& b : buckets) {
    if (b.size() <= 1) continue;
    for (const auto& p : b) {
      FASTPP_CUDA_CHECK(
          cudaMemcpyAsync(p.grad, s_->packed + at, p.n * sizeof(float), cudaMemcpyDeviceToDevice, stream));
      at += p.n;
    }
  }
}

void NcclGroup::average_bucket(const NcclGradPart* parts, std::size_t count) {
  ncclComm_t c = s_->live("ncclAllReduce (gradients)");
  if (count == 0) return;
  const cudaStream_t stream = cuda_runtime::stream();
  if (count == 1) {
    float* g = parts[0].grad;
    if (parts[0].n > 0) FASTPP_NCCL_CHECK(ncclAllReduce(g, g, parts[0].n, ncclFloat, ncclAvg, c, stream));
    return;
  }
  std::size_t total = 0;
  for (std::size_t k = 0; k < count; ++k) total += parts[k].n;
  s_->reserve_packed(total);
  std::size_t at = 0;
  for (std::size_t k = 0; k < count; ++k) {
    FASTPP_CUDA_CHECK(cudaMemcpyAsync(s_->packed + at, parts[k].grad, parts[k].n * sizeof(float),
                                      cudaMemcpyDeviceToDevice, stream));
    at += parts[k].n;
  }
  FASTPP_NCCL_CHECK(ncclAllReduce(s_->packed, s_->packed, total, ncclFloat, ncclAvg, c, stream));
  at = 0;
  for (std::size_t k = 0; k < count; ++k) {
    FASTPP_CUDA_CHECK(cudaMemcpyAsync(parts[k].grad, s_->packed + at, parts[k].n * sizeof(float),
                                      cudaMemcpyDeviceToDevice, stream));
    at += parts[k].n;
  }
}

void NcclGroup::sum_device(double* device_values, std::size_t n) {
  ncclComm_t c = s_->live("ncclAllReduce (BatchNorm statistics)");
  if (n == 0) return;
  FASTPP_NCCL_CHECK(ncclAllReduce(device_values, device_values, n, ncclDouble, ncclSum, c, cuda_runtime::stream()));
}

void NcclGroup::check_device(const char* where) const {
  int d = -1;
  FASTPP_CUDA_CHECK(cudaGetDevice(&d));
  check<Error>(d == device_, where, ": the current GPU is ", d, " but the NCCL group's is ", device_,
               " (make the group's device current, or build the group on the learner's)");
}

}  // namespace fastpp
