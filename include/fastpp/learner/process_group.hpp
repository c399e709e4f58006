#pragma once
// ProcessGroup: what a learner asks of the other processes of a data-parallel run, and nothing more, so
// the learner itself needs no MPI. fastpp/distributed/mpi.hpp implements it over MPI (fastpp::mpi); a
// learner without one is a single process. The learner uses it to add its validation sums over ranks
// (every rank then shows the same valid_loss and metrics), to print the progress table on rank 0 only,
// and to write checkpoints on rank 0 only, the others waiting until the file is complete.
#include <cstddef>

namespace fastpp {

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Element-wise sum over all processes, in place; every process calls it with the same n.
  virtual void sum(double* values, std::size_t n) = 0;
  // Returns once every process has called it.
  virtual void barrier() = 0;
};

}  // namespace fastpp
