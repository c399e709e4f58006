// write_file_atomic: the bytes land exactly, the previous file survives a failed write, the error names
// the path and the reason, and no temporary is left after success or failure.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <fastpp/io/atomic_file.hpp>

#include "scratch_dir.hpp"

using namespace fastpp;
namespace fs = std::filesystem;

namespace {
std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
std::size_t entries(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}
}  // namespace

TEST_CASE("write_file_atomic writes new files and replaces old ones, leaving nothing else", "[checkpoint]") {
  ScratchDir dir("atomic");
  const fs::path p = dir.path() / "state.bin";
  io::write_file_atomic(p, std::string_view("first"));
  CHECK(read_text(p) == "first");
  std::vector<std::uint8_t> big(3'000'017);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 2654435761u >> 13);
  io::write_file_atomic(p, big);
  const std::string back = read_text(p);
  REQUIRE(back.size() == big.size());
  CHECK(std::equal(big.begin(), big.end(), back.begin(),
                   [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); }));
  io::write_file_atomic(p, std::vector<std::uint8_t>{});  // empty is a valid content
  CHECK(fs::file_size(p) == 0);
  CHECK(entries(dir.path()) == 1);
  CHECK(io::atomic_file_temporaries(p).empty());

  // a relative path (empty parent) goes to the current directory
  const fs::path cwd = fs::current_path();
  fs::current_path(dir.path());
  io::write_file_atomic("relative.txt", std::string_view("here"));
  fs::current_path(cwd);
  CHECK(read_text(dir.path() / "relative.txt") == "here");
}

TEST_CASE("a failed atomic write names the path and the reason and keeps the previous file", "[checkpoint]") {
  ScratchDir dir("atomic-fail");
  // a directory that does not exist
  const fs::path nowhere = dir.path() / "no-such-dir" / "f.bin";
  try {
    io::write_file_atomic(nowhere, std::string_view("x"));
    FAIL("no error");
  } catch (const IoError& e) {
    CHECK(e.path() == nowhere.string());
    CHECK_THAT(std::string(e.what()), Catch::Contains("No such file or directory") &&
                                          Catch::Contains("cannot create the temporary file"));
  }
  // the target is a non-empty directory: rename fails after the data was written; the temporary goes
  const fs::path target = dir.path() / "occupied";
  fs::create_directories(target / "inside");
  try {
    io::write_file_atomic(target, std::string_view("data"));
    FAIL("no error");
  } catch (const IoError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("renaming") && Catch::Contains(target.string()));
  }
  CHECK(fs::is_directory(target / "inside"));
  CHECK(io::atomic_file_temporaries(target).empty());
  CHECK(entries(dir.path()) == 1);

  // a read-only directory (skipped as root, who may write anyway): the previous file stays
  const fs::path ro = dir.path() / "ro";
  fs::create_directories(ro);
  io::write_file_atomic(ro / "keep.txt", std::string_view("previous"));
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
  if (::geteuid() != 0) {
    CHECK_THROWS_WITH(io::write_file_atomic(ro / "keep.txt", std::string_view("new")),
                      Catch::Contains("Permission denied") && Catch::Contains("keep.txt"));
    CHECK(read_text(ro / "keep.txt") == "previous");
  }
  fs::permissions(ro, fs::perms::owner_all);
  CHECK_THROWS_AS(io::write_file_atomic(dir.path() / "", std::string_view("x")), IoError);
}

TEST_CASE("atomic_file_temporaries lists only temporaries of that file", "[checkpoint]") {
  ScratchDir dir("atomic-list");
  const fs::path p = dir.path() / "a.safetensors";
  for (const char* name : {".a.safetensors.123.0.tmp", ".a.safetensors.9.12.tmp", "a.safetensors",
                           ".a.safetensors.bak.tmp", ".a.safetensors.1.2.3.tmp", ".b.safetensors.1.0.tmp",
                           ".a.safetensors..tmp", "a.safetensors.1.0.tmp"}) {
    std::ofstream(dir.path() / name) << "x";
  }
  auto found = io::atomic_file_temporaries(p);
  std::sort(found.begin(), found.end());
  REQUIRE(found.size() == 2);
  CHECK(found[0].filename() == ".a.safetensors.123.0.tmp");
  CHECK(found[1].filename() == ".a.safetensors.9.12.tmp");
  // and a real temporary name is of that form
  const auto tmp = io::detail::atomic_temp_path(p);
  CHECK(tmp.parent_path() == p.parent_path());
  std::ofstream(tmp) << "x";
  CHECK(io::atomic_file_temporaries(p).size() == 3);
}
