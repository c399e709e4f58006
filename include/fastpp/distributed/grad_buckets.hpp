#pragma once
// GradBuckets: which gradients are averaged together, and when each group is complete during backward: the
// bucket plan of PyTorch DDP, shared by the MPI (mpi.hpp) and NCCL (nccl.hpp) callbacks, which differ only
// in how they sum a bucket.
//
// The plan: the trainable parameters' gradients in reverse order (the order backward makes them final),
// consecutive ones in a bucket until it holds bucket_bytes (first_bucket_bytes for the first, so the last
// layers' sum starts early; a larger gradient alone in its own). Every rank makes the same plan from the
// same model. It is rebuilt only when the parameters changed (pointers, sizes, which are frozen), checked
// each step: the pointers move when a learner does, and fine_tune's first phase averages the head's only.
//
// Each training step: plan(), arm(); then ready(grad) for each gradient backward reports final (through
// nn::GradReady), which answers the bucket it completed, if any; the caller starts that bucket's sum and
// marks it started. After backward, the caller starts every bucket not started yet.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../learner/learner_base.hpp"

namespace fastpp {

class GradBuckets {
 public:
  // One gradient: a parameter's, n floats (host or device memory: the plan never reads them).
  struct Part {
    float* grad;
    std::size_t n;
    bool operator==(const Part&) const = default;
  };
  struct Bucket {
    std::size_t first = 0, count = 0;  // parts()[first, first + count) are this bucket's
    std::size_t size = 0;              // their floats in all
    std::size_t waiting = 0;           // gradients not final yet in this backward
    bool started = false;
  };
  static constexpr std::size_t none = std::numeric_limits<std::size_t>::max();

  GradBuckets(std::size_t bucket_bytes, std::size_t first_bucket_bytes)
      : bucket_bytes_(bucket_bytes), first_bucket_bytes_(first_bucket_bytes) {
    check<ValueError>(bucket_bytes >= sizeof(float) && first_bucket_bytes >= sizeof(float),
                      "distributed: bucket_bytes and first_bucket_bytes must hold one float, got ", bucket_bytes,
                      " and ", first_bucket_bytes);
  }

  // Plans the buckets over learn's trainable parameters; true when the plan changed. A parameter of more than
  // max_part floats is refused, naming it (an MPI message counts in int).
  bool plan(LearnerBase& learn, std::int64_t max_part = std::numeric_limits<std::int64_t>::max()) {
    seen_.clear();
    learn.visit_params([&](const std::string& name, float*, float* grad, std::int64_t n) {
      if (!grad || n == 0) return;  // frozen: no gradient to average
      check<ValueError>(n <= max_part, "distributed: parameter ", name, " has ", n, " elements, more than one ",
                        "message of the collective holds (", max_part, ")");
      seen_.push_back({grad, static_cast<std::size_t>(n)});
    });
    if (seen_ == planned_) return false;
    planned_ = seen_;
    parts_.clear();
    buckets_.clear();
    bucket_of_.clear();
    std::size_t cap = 0;
    for (auto it = seen_.rbegin(); it != seen_.rend(); ++it) {
      if (buckets_.empty() || buckets_.back().size + it->n > cap) {
        cap = (buckets_.empty() ? first_bucket_bytes_ : bucket_bytes_) / sizeof(float);
        buckets_.emplace_back();
        buckets_.back().first = parts_.size();
      }
      ++buckets_.back().count;
      buckets_.back().size += it->n;
      parts_.push_back(*it);
      bucket_of_.push_back(buckets_.size() - 1);
    }
    by_grad_.clear();
    for (std::size_t k = 0; k < parts_.size(); ++k) by_grad_.emplace_back(parts_[k].grad, k);
    std::sort(by_grad_.begin(), by_grad_.end());
    return true;
  }

  // A new backward: no gradient final yet, no bucket started.
  void arm() {
    for (Bucket& b : buckets_) {
      b.waiting = b.count;
      b.started = false;
    }
    ready_.assign(parts_.size(), false);
  }

  // grad's gradient is final: the bucket this completes, or none (not the last of its bucket, reported
  // before, or not a planned gradient).
  std::size_t ready(const float* grad) {
    using Entry = std::pair<const float*, std::size_t>;
    const auto it = std::lower_bound(by_grad_.begin(), by_grad_.end(), grad,
                                     [](const Entry& e, const float* g) { return e.first < g; });
    if (it == by_grad_.end() || it->first != grad || ready_[it->second]) return none;
    ready_[it->second] = true;
    const std::size_t b = bucket_of_[it->second];
    return --buckets_[b].waiting == 0 ? b : none;
  }

  const std::vector<Part>& parts() const noexcept { return parts_; }  // in bucket order
  std::vector<Bucket>& buckets() noexcept { return buckets_; }
  const std::vector<Bucket>& buckets() const noexcept { return buckets_; }

 private:
  std::size_t bucket_bytes_, first_bucket_bytes_;
  std::vector<Part> seen_, planned_;     // in parameter order
  std::vector<Part> parts_;              // in bucket order (reverse parameter order)
  std::vector<std::size_t> bucket_of_;   // parts_[k]'s bucket
  std::vector<bool> ready_;              // parts_[k]'s gradient reported final in this backward
  std::vector<Bucket> buckets_;
  std::vector<std::pair<const float*, std::size_t>> by_grad_;  // gradient pointer -> index in parts_, sorted
};

}  // namespace fastpp
