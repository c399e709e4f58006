#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <fastpp/core/thread_pool.hpp>
#include <numeric>
#include <thread>
#include <vector>

using namespace fastpp;

TEST_CASE("parallel_for covers the range exactly once", "[threads]") {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    std::vector<int> hits(1000, 0);
    pool.parallel_for(0, 1000, 7, [&](std::int64_t b, std::int64_t e) {
      for (auto i = b; i < e; ++i) ++hits[static_cast<std::size_t>(i)];
    });
    CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
    CHECK(pool.size() == threads);
  }
}

TEST_CASE("an exception in a chunk reaches the caller after all chunks finish", "[threads]") {
  ThreadPool pool(3);
  std::atomic<int> done{0};
  CHECK_THROWS_WITH(pool.parallel_for(0, 30, 1,
                                      [&](std::int64_t b, std::int64_t e) {
                                        done += static_cast<int>(e - b);
                                        if (b == 0) throw ValueError("chunk 0 failed");
                                      }),
                    "chunk 0 failed");
  CHECK(done == 30);
  // The pool still works afterwards.
  std::atomic<int> sum{0};
  pool.parallel_for(0, 10, 1, [&](std::int64_t b, std::int64_t e) { sum += static_cast<int>(e - b); });
  CHECK(sum == 10);
}

TEST_CASE("submit returns futures that carry values and exceptions", "[threads]") {
  ThreadPool pool(2);
  auto f = pool.submit([] { return 6 * 7; });
  auto g = pool.submit([]() -> int { throw IndexError("item 3"); });
  CHECK(f.get() == 42);
  CHECK_THROWS_AS(g.get(), IndexError);
}

TEST_CASE("nested parallel_for runs serially inside a worker instead of deadlocking", "[threads]") {
  ThreadPool pool(2);
  std::atomic<int> total{0};
  pool.parallel_for(0, 4, 1, [&](std::int64_t b, std::int64_t e) {
    for (auto i = b; i < e; ++i)
      pool.parallel_for(0, 100, 1, [&](std::int64_t bb, std::int64_t ee) { total += static_cast<int>(ee - bb); });
  });
  CHECK(total == 400);
}

TEST_CASE("parallel_for_balanced calls the body once for every index", "[threads]") {
  for (int threads : {1, 2, 3, 4})
    for (std::int64_t n : {0, 1, 2, 5, 1000}) {
      INFO(threads << " threads, " << n << " indices");
      ThreadPool pool(threads);
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n) + 2);
      pool.parallel_for_balanced(2, n + 2, [&](std::int64_t i) { ++hits[static_cast<std::size_t>(i)]; });
      CHECK(hits[0] == 0);
      CHECK(hits[1] == 0);
      for (std::int64_t i = 2; i < n + 2; ++i) CHECK(hits[static_cast<std::size_t>(i)] == 1);
    }
}

TEST_CASE("parallel_for_balanced lets a fast thread take indices from a slow one", "[threads]") {
  // The calling thread owns the first half and takes 2 ms an index; the worker finishes its half at once
  // and then takes the caller's remaining indices from the back.
  ThreadPool pool(2);
  const auto caller = std::this_thread::get_id();
  std::atomic<int> by_caller{0};
  std::vector<std::atomic<int>> hits(100);
  pool.parallel_for_balanced(0, 100, [&](std::int64_t i) {
    ++hits[static_cast<std::size_t>(i)];
    if (std::this_thread::get_id() == caller) {
      ++by_caller;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  CHECK(by_caller < 50);
  for (const auto& h : hits) CHECK(h == 1);
}

TEST_CASE("parallel_for_balanced passes on the first exception and runs serially inside a worker", "[threads]") {
  ThreadPool pool(2);
  CHECK_THROWS_WITH(pool.parallel_for_balanced(0, 40, [](std::int64_t i) {
                      if (i == 7) throw ValueError("index 7 failed");
                    }),
                    "index 7 failed");
  std::atomic<int> total{0};
  pool.parallel_for(0, 2, 1, [&](std::int64_t, std::int64_t) {
    pool.parallel_for_balanced(0, 100, [&](std::int64_t) { ++total; });
  });
  CHECK(total == 200);
}

TEST_CASE("a parallel_for nested in the caller's own chunk runs serially, as one in a worker's does", "[threads]") {
  ThreadPool pool(2);
  CHECK_FALSE(ThreadPool::in_worker());
  std::atomic<int> inside{0}, chunks{0};
  pool.parallel_for(0, 2, 1, [&](std::int64_t, std::int64_t) {
    inside += ThreadPool::in_worker() ? 1 : 0;
    pool.parallel_for(0, 4, 1, [&](std::int64_t b, std::int64_t e) { chunks += b == 0 && e == 4 ? 1 : 0; });
  });
  CHECK(inside == 2);  // both chunks, the caller's included, count as inside the pool
  CHECK(chunks == 2);  // and each nested loop ran as one serial chunk
  CHECK_FALSE(ThreadPool::in_worker());  // the caller's mark is lifted afterwards
}

TEST_CASE("set_num_threads sizes fastpp's pool; BLAS keeps one thread of its own", "[threads]") {
  const int before = get_num_threads();
  set_num_threads(1);
  CHECK(get_num_threads() == 1);
#if defined(FASTPP_HAVE_OPENBLAS)
  CHECK(get_blas_threads() == 1);
#endif
  set_num_threads(2);
  CHECK(get_num_threads() == 2);
#if defined(FASTPP_HAVE_OPENBLAS)
  CHECK(get_blas_threads() == 1);  // the pool splits each product; two sets of threads fought over the cores
#endif
  set_num_threads(before);
  CHECK_THROWS_AS(set_num_threads(0), ValueError);
}

TEST_CASE("many small tasks from several producers", "[threads]") {
  ThreadPool pool(4);
  std::vector<std::future<int>> fs;
  for (int i = 0; i < 500; ++i) fs.push_back(pool.submit([i] { return i; }));
  long total = 0;
  for (auto& f : fs) total += f.get();
  CHECK(total == 499L * 500 / 2);
}
