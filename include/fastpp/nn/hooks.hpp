#pragma once
// What a data-parallel run hands the layers through nn::Ctx::parallel (fastpp/distributed/ implements them,
// the Learner passes them on). Both null in a single process: then nothing is called and nothing is paid
// beyond a null test per layer. No device and no MPI here: the layers stay device- and transport-free.
#include <cstdint>

namespace fastpp::nn {

// Told during backward which gradients are final, so their all-reduce can start while backward goes on.
class GradReady {
 public:
  // A trainable parameter's gradient (the device's pointer), final for this backward: the layer that owns
  // it has run its backward, and nothing later in the pass adds to it. Sequential and Residual call it for
  // each trainable parameter of each child that is not itself a container, in the order backward runs them.
  virtual void grad_ready(const float* grad) = 0;
  // After each child's backward (and its grad_ready calls): a chance to drive communication in flight.
  virtual void layer_done() = 0;

 protected:
  ~GradReady() = default;
};

// Sums values over every process of the run, in place (host memory; every process calls it with the same
// n at the same point). BatchNorm's statistics go through it when they are synchronised.
class ProcessSum {
 public:
  virtual void sum(double* values, std::int64_t n) = 0;
  // The same sum over values in the memory of a device the host cannot read (the cuda device's), in the
  // device's order of work (its current stream), not necessarily finished on return. Returns false where
  // this process group sums host memory only (the default): the layer then copies the values to the host,
  // calls sum and copies them back. NCCL sums them where they are.
  virtual bool sum_device(double* device_values, std::int64_t n) {
    (void)device_values, (void)n;
    return false;
  }

 protected:
  ~ProcessSum() = default;
};

struct ParallelHooks {
  GradReady* grad_ready = nullptr;    // gradient buckets overlapped with backward
  ProcessSum* sync_batchnorm = nullptr;  // BatchNorm's training statistics summed over the processes (SyncBatchNorm)

  // A fit's hooks (each may be null); disarm takes back only the hooks that are still the caller's.
  void arm(GradReady* g, ProcessSum* s) {
    grad_ready = g;
    sync_batchnorm = s;
  }
  void disarm(const GradReady* g, const ProcessSum* s) {
    if (grad_ready == g) grad_ready = nullptr;
    if (sync_batchnorm == s) sync_batchnorm = nullptr;
  }
};

}  // namespace fastpp::nn
