// The crash test of issue 17: a child process saves checkpoints of a few MB in a loop, each one
// self-consistent (every value equals its iteration number), and is SIGKILLed at varied moments. After
// every kill the checkpoint on disk must load, be complete, and be one of the child's whole checkpoints
// (the previous one or a newer one), never a torn mix. A kill between write and rename leaves the
// child's temporary `.ckpt.safetensors.<pid>.<n>.tmp` behind: allowed (never the checkpoint's name),
// listed by io::atomic_file_temporaries and cleaned up here.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fastpp/learner/checkpoint_file.hpp>

#include "scratch_dir.hpp"

using namespace fastpp;
namespace fs = std::filesystem;

namespace {

// Sizes change with the iteration, so a file mixing two iterations' bytes cannot even parse.
std::int64_t weights_of(std::int64_t i) { return 600'000 + (i % 5) * 10'007; }  // about 2.4 MB of F32
std::size_t history_of(std::int64_t i) { return static_cast<std::size_t>(i % 1000) + 1; }

CheckpointFile make_checkpoint(std::int64_t i) {
  CheckpointFile f;
  f.meta["iteration"] = std::to_string(i);
  std::vector<float> w(static_cast<std::size_t>(weights_of(i)), static_cast<float>(i));
  f.tensors["weights"] = io::StTensor::from_floats(w.data(), {weights_of(i)});
  put_f64s(f, "history", std::vector<double>(history_of(i), static_cast<double>(i)));
  put_i64(f, "step", i);
  return f;
}

// The iteration of a complete, self-consistent checkpoint (FAILs otherwise).
std::int64_t check_consistent(const CheckpointFile& f, const fs::path& path) {
  const std::int64_t i = std::stoll(require_meta(f, path, "iteration"));
  REQUIRE(get_i64(f, path, "step") == i);
  const auto& w = require_tensor(f, path, "weights", io::StDtype::F32, {weights_of(i)});
  const float* v = reinterpret_cast<const float*>(w.bytes.data());
  std::int64_t wrong = 0;
  for (std::int64_t k = 0; k < weights_of(i); ++k) wrong += v[k] != static_cast<float>(i);
  REQUIRE(wrong == 0);
  const auto h = get_f64s(f, path, "history");
  REQUIRE(h.size() == history_of(i));
  for (const double x : h) REQUIRE(x == static_cast<double>(i));
  return i;
}

}  // namespace

TEST_CASE("a checkpoint writer killed at any moment leaves a complete checkpoint", "[checkpoint][crash]") {
  ScratchDir dir("crash");
  const fs::path path = dir.path() / "ckpt.safetensors";
  save_checkpoint_file(path, make_checkpoint(0));

  std::int64_t last = 0;
  int rounds_with_temporary = 0, rounds_with_progress = 0;
  for (int round = 0; round < 20; ++round) {
    // 1..40 ms in a scattered order, and every fourth round 200 ms more, so that some saves finish even
    // when other programs slow the disk (a loaded CI machine once saw none finish within 40 ms).
    const int delay_ms = 1 + (round * 17) % 40 + (round % 4 == 3 ? 200 : 0);
    INFO("round " << round << ", kill after " << delay_ms << " ms");
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // The child saves until killed. _exit, never return: returning would run Catch2 and the parent's
      // destructors (ScratchDir would delete the directory) in the child.
      try {
        for (std::int64_t i = last + 1;; ++i) save_checkpoint_file(path, make_checkpoint(i));
      } catch (...) {
        ::_exit(3);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    REQUIRE(::kill(pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    // killed while saving, not ended by an error of its own
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);

    const CheckpointFile f = load_checkpoint_file(path);
    const std::int64_t now = check_consistent(f, path);
    CHECK(now >= last);  // never an older checkpoint than one already seen
    rounds_with_progress += now > last;
    last = now;

    for (const auto& tmp : io::atomic_file_temporaries(path)) {
      CHECK(tmp.filename() != path.filename());
      CHECK(tmp.parent_path() == path.parent_path());
      fs::remove(tmp);
      ++rounds_with_temporary;
    }
  }
  // Only the checkpoint remains once the temporaries are cleaned up.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename().string());
  CHECK(names == std::vector<std::string>{"ckpt.safetensors"});
  // The test means something only if some kills landed mid-save (a temporary was left behind). Each
  // save takes milliseconds, most of the child's life, so nearly every kill does.
  INFO("kills that left a temporary: " << rounds_with_temporary << " of 20; rounds that saw a newer checkpoint: "
                                       << rounds_with_progress << "; last iteration " << last);
  CHECK(rounds_with_temporary >= 1);
  CHECK(rounds_with_progress >= 1);
}
