#pragma once
// One thread pool for fastpp's compute, and one policy for it and the BLAS library's threads.
//
// The policy (docs/ARCHITECTURE.md, "Threads"): fastpp::set_num_threads(n) sizes the one pool every kernel
// runs on, GEMMs included: OpenBLAS is kept at one thread of its own and the backend splits each product
// across this pool (backend/cpu/detail/gemm.hpp). A parallel_for called from inside a chunk (a worker's or
// the caller's own) runs serially, so n cores never carry more than n compute threads.
// Data-loader workers are a separate, explicit count (DataLoaders' num_workers).
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "error.hpp"

// OpenBLAS's thread control, found at link time when the program links OpenBLAS; null otherwise.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
extern "C" int openblas_get_num_threads(void) __attribute__((weak));

namespace fastpp {

class ThreadPool {
 public:
  // A pool of n - 1 workers: the calling thread is the n-th in parallel_for.
  explicit ThreadPool(int n) { resize(n); }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() { stop(); }

  // Total threads parallel_for uses, the caller included.
  int size() const noexcept { return static_cast<int>(workers_.size()) + 1; }

  void resize(int n) {
    check(n >= 1, "a thread pool needs at least 1 thread, got ", n);
    stop();
    std::lock_guard lock(mutex_);
    stopping_ = false;
    for (int i = 0; i + 1 < n; ++i) workers_.emplace_back([this] { work(); });
  }

  // Runs f() on a worker (or inline when the pool has no workers) and returns its future; an exception
  // thrown by f reaches whoever calls get().
  template <class F>
  auto submit(F f) -> std::future<std::invoke_result_t<F>> {
    using R = std::invoke_result_t<F>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(f));
    auto fut = task->get_future();
    if (workers_.empty()) {
      (*task)();
      return fut;
    }
    {
      std::lock_guard lock(mutex_);
      queue_.emplace_back([task] { (*task)(); });
    }
    cv_.notify_one();
    return fut;
  }

  // Calls body(b, e) over disjoint chunks covering [begin, end), each at least `grain` long, and waits.
  // The chunks are the same for the same pool size, so results that depend on chunking are reproducible.
  // The first exception thrown by a chunk is rethrown here after all chunks finished.
  template <class Body>
  void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, Body&& body) {
    if (end <= begin) return;
    grain = std::max<std::int64_t>(grain, 1);
    const std::int64_t n = end - begin;
    const std::int64_t chunks = std::min<std::int64_t>(size(), (n + grain - 1) / grain);
    if (chunks <= 1 || in_worker()) {
      body(begin, end);
      return;
    }
    const std::int64_t step = (n + chunks - 1) / chunks;
    if (const TeamRun run = team_run_.load(std::memory_order_acquire)) {
      run_on_team(run, begin, end, step, static_cast<int>(chunks), body);
      return;
    }
    // While the caller runs its own chunk it counts as inside the pool: a parallel_for nested in that chunk
    // runs serially, as one nested in a worker's chunk does, instead of queueing behind busy workers.
    const RegionMark mark;
    std::vector<std::future<void>> pending;
    pending.reserve(static_cast<std::size_t>(chunks - 1));
    for (std::int64_t c = 1; c < chunks; ++c) {
      const std::int64_t b = begin + c * step, e = std::min(end, b + step);
      if (b >= e) break;
      pending.push_back(submit([&body, b, e] { body(b, e); }));
    }
    std::exception_ptr first;
    try {
      body(begin, std::min(end, begin + step));
    } catch (...) {
      first = std::current_exception();
    }
    for (auto& f : pending) {
      try {
        f.get();
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    if (first) std::rethrow_exception(first);
  }

  // Calls body(i) once for every i in [begin, end) and waits. Each thread starts on its own contiguous
  // share, front to back; a thread that finishes its share takes the last indices of the others' shares,
  // one at a time. A thread that runs slower (another program on its core, say) so ends up with fewer
  // indices, where parallel_for's equal chunks would wait for it, and each thread still walks memory
  // forward through long runs (handing out single indices round-robin measured 6-11% slower on a
  // streaming loss kernel). Only for work whose result does not depend on which thread runs which index.
  // The first exception is rethrown after all threads stopped; indices not yet taken may then be skipped.
  template <class Body>
  void parallel_for_balanced(std::int64_t begin, std::int64_t end, Body&& body) {
    if (end <= begin) return;
    const std::int64_t n = end - begin;
    if (n >= (std::int64_t{1} << 32)) {  // beyond what a share's packed bounds hold: equal chunks
      parallel_for(begin, end, 1, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) body(i);
      });
      return;
    }
    const int threads = static_cast<int>(std::min<std::int64_t>(size(), n));
    if (threads <= 1 || in_worker()) {
      for (std::int64_t i = begin; i < end; ++i) body(i);
      return;
    }
    // Share t is [front, back) relative to begin, packed in one atomic word so that the owner taking the
    // front and a thief taking the back never both get the last index.
    std::vector<std::atomic<std::uint64_t>> shares(static_cast<std::size_t>(threads));
    for (int t = 0; t < threads; ++t) {
      const std::uint64_t lo = static_cast<std::uint64_t>(n * t / threads), hi = static_cast<std::uint64_t>(n * (t + 1) / threads);
      shares[static_cast<std::size_t>(t)].store(lo << 32 | hi, std::memory_order_relaxed);
    }
    std::atomic<bool> failed{false};
    // takes the front (from_back false) or the back index of share t; -1 when it is empty
    const auto take = [&](int t, bool from_back) -> std::int64_t {
      auto& share = shares[static_cast<std::size_t>(t)];
      std::uint64_t cur = share.load(std::memory_order_relaxed);
      for (;;) {
        const std::uint64_t lo = cur >> 32, hi = cur & 0xffffffffu;
        if (lo >= hi) return -1;
        const std::uint64_t next = from_back ? (lo << 32 | (hi - 1)) : ((lo + 1) << 32 | hi);
        if (share.compare_exchange_weak(cur, next, std::memory_order_relaxed))
          return begin + static_cast<std::int64_t>(from_back ? hi - 1 : lo);
      }
    };
    parallel_for(0, threads, 1, [&](std::int64_t t0, std::int64_t) {
      const int self = static_cast<int>(t0);
      try {
        for (std::int64_t i; !failed.load(std::memory_order_relaxed) && (i = take(self, false)) >= 0;) body(i);
        for (int k = 1; k < threads && !failed.load(std::memory_order_relaxed); ++k)
          for (std::int64_t i; !failed.load(std::memory_order_relaxed) && (i = take((self + k) % threads, true)) >= 0;)
            body(i);
      } catch (...) {
        failed.store(true, std::memory_order_relaxed);
        throw;
      }
    });
  }

  // True on a thread owned by any fastpp pool, and on a caller while it runs its share of a parallel_for.
  static bool in_worker() noexcept { return worker_flag(); }

  // Another runtime's thread team for parallel_for's chunks: run(threads, chunk, ctx) calls chunk(ctx, t, team)
  // on `threads` threads, the caller one of them (t in [0, team), team <= threads), and returns when all are
  // done. The oneDNN backend installs OpenMP's team here (backend/cpu/detail/onednn_conv.hpp): oneDNN runs
  // on it, and a second set of threads of fastpp's own, woken between its calls while OpenMP's threads still
  // spin waiting for the next one, cost the main job's training step 15-30%. The chunks stay the same, so
  // results do not change. Null puts the pool's own workers back.
  using TeamRun = void (*)(int threads, void (*chunk)(void* ctx, int t, int team), void* ctx);
  void set_team(TeamRun run) noexcept { team_run_.store(run, std::memory_order_release); }

 private:
  template <class Body>
  static void run_on_team(TeamRun run, std::int64_t begin, std::int64_t end, std::int64_t step, int chunks,
                          Body& body) {
    struct Shared {
      Body* body;
      std::int64_t begin, end, step, chunks;
      std::mutex mutex;
      std::exception_ptr first;
    } shared{&body, begin, end, step, chunks, {}, {}};
    // Thread t of a team of `team` runs chunks t, t + team, ... (all of them, whatever size the team got).
    run(chunks, [](void* ctx, int t, int team) {
      auto& sh = *static_cast<Shared*>(ctx);
      const RegionMark mark;
      for (std::int64_t c = t; c < sh.chunks; c += std::max(team, 1)) {
        const std::int64_t b = sh.begin + c * sh.step, e = std::min(sh.end, b + sh.step);
        if (b >= e) break;
        try {
          (*sh.body)(b, e);
        } catch (...) {  // an exception must not leave the team's thread
          std::lock_guard lock(sh.mutex);
          if (!sh.first) sh.first = std::current_exception();
        }
      }
    }, &shared);
    if (shared.first) std::rethrow_exception(shared.first);
  }

  struct RegionMark {
    bool was = worker_flag();
    RegionMark() noexcept { worker_flag() = true; }
    ~RegionMark() { worker_flag() = was; }
  };
  static bool& worker_flag() noexcept {
    thread_local bool flag = false;
    return flag;
  }
  void work() {
    worker_flag() = true;
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::deque<std::function<void()>> queue_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<TeamRun> team_run_{nullptr};
};

namespace detail {
inline int default_num_threads() {
  if (const char* env = std::getenv("FASTPP_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}
inline void set_blas_threads(int n) {
  if (openblas_set_num_threads) openblas_set_num_threads(n);
}
}  // namespace detail

// The pool fastpp's kernels use; sized by FASTPP_NUM_THREADS, else by the number of hardware threads.
inline ThreadPool& compute_pool() {
  static ThreadPool pool = [] {
    const int n = detail::default_num_threads();
    detail::set_blas_threads(1);  // see set_num_threads
    return ThreadPool(n);
  }();
  return pool;
}

// Sets the threads of fastpp's compute, GEMMs included. Not to be called while kernels run.
inline void set_num_threads(int n) {
  check(n >= 1, "set_num_threads: need at least 1 thread, got ", n);
  compute_pool().resize(n);
  detail::set_blas_threads(1);  // BLAS's own threads stay at one: the pool splits the products
}
inline int get_num_threads() { return compute_pool().size(); }
// Threads BLAS uses of its own for one call: 1 (the pool splits products), 0 when no OpenBLAS is linked.
inline int get_blas_threads() { return openblas_get_num_threads ? openblas_get_num_threads() : 0; }

template <class Body>
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, Body&& body) {
  compute_pool().parallel_for(begin, end, grain, std::forward<Body>(body));
}
template <class Body>
void parallel_for_balanced(std::int64_t begin, std::int64_t end, Body&& body) {
  compute_pool().parallel_for_balanced(begin, end, std::forward<Body>(body));
}

}  // namespace fastpp
