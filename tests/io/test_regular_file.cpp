// Issue 18: every file fastpp reads whole (images, weights, checkpoints) goes through read_regular_file,
// which refuses a folder, a FIFO or a device at once with an IoError naming the path; before, a FIFO made
// the reader wait forever for a writer and a folder escaped as std::ios_base::failure.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <string>

#include <fastpp/core/regular_file.hpp>
#include <fastpp/io/safetensors.hpp>
#include <fastpp/learner/checkpoint_file.hpp>

using namespace fastpp;
namespace fs = std::filesystem;

namespace {

struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("fastpp_harden_io_" + std::to_string(::getpid()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// Runs `read` on a thread and returns the IoError's text; if it is still blocked after 5 s, opens and
// closes the FIFO's write side so the thread ends, and reports the block.
std::string refused_without_blocking(const fs::path& fifo, const std::function<void()>& read) {
  auto result = std::async(std::launch::async, [&]() -> std::string {
    try {
      read();
    } catch (const IoError& e) {
      return e.what();
    } catch (const std::exception& e) {
      return std::string("not an IoError: ") + e.what();
    }
    return "(read without error)";
  });
  if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
    return "(blocked: " + result.get() + ")";
  }
  return result.get();
}

}  // namespace

TEST_CASE("read_regular_file reads a file and refuses what is not one, naming the path", "[io][bad_files]") {
  Scratch s;
  const fs::path f = s.dir / "data.bin";
  std::ofstream(f, std::ios::binary) << std::string("abc\0def", 7);
  CHECK(read_regular_file(f) == std::vector<std::uint8_t>{'a', 'b', 'c', 0, 'd', 'e', 'f'});
  CHECK_THROWS_WITH(read_regular_file(f, "image", 6), Catch::Contains("too large (7 bytes, limit 6)"));
  CHECK_THROWS_WITH(read_regular_file(s.dir / "nope"), Catch::Contains("does not exist") && Catch::Contains("nope"));
  CHECK_THROWS_WITH(read_regular_file(s.dir), Catch::Contains("folder") && Catch::Contains(s.dir.string()));
  CHECK_THROWS_WITH(read_regular_file("/dev/null"), Catch::Contains("character device"));
  CHECK_THROWS_AS(require_regular_file(s.dir), IoError);
  CHECK_NOTHROW(require_regular_file(f));
}

TEST_CASE("a folder given as the weights path is an IoError naming it, not std::ios_base::failure", "[io][bad_files]") {
  Scratch s;
  try {
    io::read_safetensors(s.dir);
    FAIL("a folder was read as a safetensors file");
  } catch (const IoError& e) {
    CHECK(e.path() == s.dir.string());
    CHECK_THAT(std::string(e.what()), Catch::Contains("folder"));
  }
}

TEST_CASE("weights and checkpoints on a FIFO are refused at once", "[io][bad_files]") {
  Scratch s;
  const fs::path fifo = s.dir / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THAT(refused_without_blocking(fifo, [&] { io::read_safetensors(fifo); }),
             Catch::StartsWith("cannot read") && Catch::Contains("FIFO") && Catch::Contains(fifo.string()));
  CHECK_THAT(refused_without_blocking(fifo, [&] { load_checkpoint_file(fifo); }),
             Catch::StartsWith("cannot read") && Catch::Contains("FIFO") && Catch::Contains(fifo.string()));
}
