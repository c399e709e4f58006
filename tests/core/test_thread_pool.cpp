#include <catch2/catch.hpp>
#include <atomic>
#include <fastpp/core/thread_pool.hpp>
#include <numeric>
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

TEST_CASE("set_num_threads sets fastpp's pool and BLAS together", "[threads]") {
  const int before = get_num_threads();
  set_num_threads(1);
  CHECK(get_num_threads() == 1);
#if defined(FASTPP_HAVE_OPENBLAS)
  CHECK(get_blas_threads() == 1);
#endif
  set_num_threads(2);
  CHECK(get_num_threads() == 2);
#if defined(FASTPP_HAVE_OPENBLAS)
  CHECK(get_blas_threads() == 2);
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
