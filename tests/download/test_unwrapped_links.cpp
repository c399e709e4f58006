// Issue 18: symbolic links are checked where the dataset ends up. An archive with a single root folder is
// unwrapped (data/<stem> gets the root folder's content), so a link `root/up -> ..` that stays inside the
// extraction folder points, after the move, at data/ itself, and get_image_files(data/<stem>) would list
// every other dataset. Such archives are refused, and a FIFO given as the archive is refused at once.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <future>

#include <fastpp/io/download.hpp>

#include "helpers.hpp"

using namespace fastpp;
using test::Entry;
using test::Format;
namespace fs = std::filesystem;

namespace {

// Extracts with untar_dir into sandbox/data (beside another dataset) and returns the FormatError's text;
// checks that data/ is left as it was.
std::string unwrap_refused(const std::vector<Entry>& entries) {
  test::TempDir dir;
  const fs::path archive = dir / "evil.tgz";
  test::write_archive(archive, Format::tgz, entries);
  const fs::path data = dir / "data";
  test::write_file(data / "other_dataset/secret.jpg", "another dataset's file");
  const auto before = test::snapshot(data);
  std::string what = "(extracted)";
  try {
    untar_dir(archive, data);
  } catch (const FormatError& e) {
    what = e.what();
    CHECK(e.path() == archive.string());
  }
  CHECK(test::snapshot(data) == before);
  return what;
}

}  // namespace

TEST_CASE("a link to '..' inside the single root folder is refused: after unwrapping it would leave the dataset") {
  const std::string what = unwrap_refused({{"root/", Entry::dir},
                                           {"root/a.jpg", Entry::file, "A"},
                                           {"root/up", Entry::symlink, "", ".."}});
  CHECK_THAT(what, Catch::Contains("'root/up'") && Catch::Contains("outside"));
}

TEST_CASE("a link that leaves the root folder and comes back by its name is refused too") {
  // root/x -> ../root/a.jpg resolves to root/a.jpg while extracting, but to data/root/a.jpg once root's
  // content is data/evil: another dataset's file if data/root exists.
  CHECK_THAT(unwrap_refused({{"root/", Entry::dir}, {"root/a.jpg", Entry::file, "A"},
                             {"root/x", Entry::symlink, "", "../root/a.jpg"}}),
             Catch::Contains("'root/x'") && Catch::Contains("outside"));
  // A chain: each link alone looks inside ("here" -> ".", then "back" -> "here/..").
  CHECK_THAT(unwrap_refused({{"root/", Entry::dir}, {"root/a.jpg", Entry::file, "A"},
                             {"root/here", Entry::symlink, "", "."}, {"root/back", Entry::symlink, "", "here/.."}}),
             Catch::Contains("'root/back'") && Catch::Contains("outside"));
}

TEST_CASE("links that stay inside the unwrapped folder are kept") {
  test::TempDir dir;
  const fs::path archive = dir / "good.tgz";
  test::write_archive(archive, Format::tgz,
                      {{"root/", Entry::dir}, {"root/sub/", Entry::dir}, {"root/sub/a.jpg", Entry::file, "A"},
                       {"root/alias", Entry::symlink, "", "sub/a.jpg"}, {"root/sub/self", Entry::symlink, "", "../sub"}});
  const fs::path out = untar_dir(archive, dir / "data");
  CHECK(out == dir / "data" / "good");
  CHECK(test::read_file(out / "alias") == "A");
  CHECK(fs::read_symlink(out / "sub/self") == "../sub");
}

TEST_CASE("untar_data refuses the escaping link too, and keeps the archive cached") {
  test::TempDir dir;
  const std::string url = "https://example.invalid/datasets/evil.tgz";
  fs::create_directories(dir / "archive");
  test::write_archive(dir / "archive/evil.tgz", Format::tgz,
                      {{"root/", Entry::dir}, {"root/a.jpg", Entry::file, "A"}, {"root/up", Entry::symlink, "", ".."}});
  UntarOptions o;
  o.dest = dir / "data";
  o.archive_dir = dir / "archive";
  o.offline = true;
  CHECK_THROWS_WITH(untar_data(url, o), Catch::Contains("'root/up'") && Catch::Contains("outside"));
  CHECK_FALSE(fs::exists(dir / "data/evil"));
  CHECK(fs::is_regular_file(dir / "archive/evil.tgz"));
}

TEST_CASE("a FIFO given as the archive is refused at once, naming it") {
  test::TempDir dir;
  const fs::path fifo = dir / "pipe.tgz";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  for (int which = 0; which < 2; ++which) {
    auto result = std::async(std::launch::async, [&]() -> std::string {
      try {
        if (which == 0) untar_dir(fifo, dir / "data");
        else extract_archive(fifo, dir / "out");
      } catch (const IoError& e) {
        return e.what();
      }
      return "(extracted)";
    });
    const bool finished = result.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
    if (!finished) {
      const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd >= 0) ::close(fd);
    }
    const std::string what = result.get();
    CHECK(finished);
    CHECK_THAT(what, Catch::Contains("FIFO") && Catch::Contains(fifo.string()));
  }
}
