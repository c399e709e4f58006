// untar_data end to end against tests/download/range_server.py on 127.0.0.1: the cache, resumed and dropped
// downloads, checks, offline use and errors. No test contacts any other host.
#include <catch2/catch.hpp>

#include <fastpp/io/download.hpp>

#include <chrono>
#include <thread>

#include "helpers.hpp"

using namespace fastpp;
using test::Entry;
using test::Format;
namespace fs = std::filesystem;

namespace {

// A cache folder, a served folder with one dataset archive, and the server.
struct Fixture {
  test::TempDir dir;
  fs::path served = dir / "served";
  fs::path home = dir / "home";
  std::string archive_bytes;
  std::unique_ptr<test::RangeServer> server;

  explicit Fixture(std::uint32_t seed = 0) {
    fs::create_directories(served);
    // Big enough (about 2 MiB, barely compressible) for drops and resumes in the middle.
    auto entries = test::dataset_entries("oxford-iiit-pet", seed);
    entries.push_back({"oxford-iiit-pet/images/big.jpg", Entry::file, test::random_bytes(2 << 20, seed + 2)});
    test::write_archive(served / "pets.tgz", Format::tgz, entries);
    archive_bytes = test::read_file(served / "pets.tgz");
    server = std::make_unique<test::RangeServer>(served);
  }

  UntarOptions options() const {
    return {.dest = home / "data",
            .force_download = false,
            .check = std::nullopt,
            .archive_dir = home / "archive",
            .offline = false,
            .limits = {},
            .download = DownloadOptions{.progress = Progress::never,
                                        .retries = 2,
                                        .connect_timeout_s = 5,
                                        .stall_timeout_s = 20,
                                        .retry_delay_s = 0.0}};
  }
  FileCheck right_check() const {
    return {.size = archive_bytes.size(), .md5_first_mib = md5_hex(archive_bytes.substr(0, 1 << 20)), .sha256 = {}};
  }
};

void check_pets(const fs::path& root, std::uint32_t seed = 0) {
  CHECK(test::read_file(root / "images/great_pyrenees_173.jpg") == test::pattern_bytes(70000, seed));
  CHECK(test::read_file(root / "images/big.jpg") == test::random_bytes(2 << 20, seed + 2));
  CHECK(test::read_file(root / "annotations/list.txt") == "Abyssinian_1 1 1 1\n");
}

}  // namespace

TEST_CASE("untar_data downloads into $FASTPP_HOME and the second call uses the cache without the network") {
  Fixture f;
  setenv("FASTPP_HOME", f.home.c_str(), 1);
  const std::string url = f.server->url("pets.tgz");
  const fs::path path = untar_data(url, {.dest = {}, .force_download = false, .check = f.right_check()});
  CHECK(path == f.home / "data/pets");
  check_pets(path);
  CHECK(test::read_file(f.home / "archive/pets.tgz") == f.archive_bytes);
  CHECK_FALSE(fs::exists(f.home / "archive/pets.tgz.part"));
  REQUIRE(f.server->requests() == std::vector<std::string>{"/pets.tgz -"});

  f.server->stop();  // from now on there is no network at all
  CHECK(untar_data(url) == path);
  // The extracted folder is gone but the archive is cached: extracted again, still without the network.
  fs::remove_all(path);
  CHECK(untar_data(url, {.dest = {}, .force_download = false, .check = f.right_check()}) == path);
  check_pets(path);
}

TEST_CASE("a partial download left by an earlier run is resumed with a Range request") {
  Fixture f;
  auto opts = f.options();
  opts.check = f.right_check();
  fs::create_directories(opts.archive_dir);
  const std::size_t have = 1234567;
  test::write_file(opts.archive_dir / "pets.tgz.part", f.archive_bytes.substr(0, have));
  const fs::path path = untar_data(f.server->url("pets.tgz"), opts);
  check_pets(path);
  CHECK(f.server->requests() == std::vector<std::string>{"/pets.tgz bytes=1234567-"});
  CHECK(test::read_file(opts.archive_dir / "pets.tgz") == f.archive_bytes);
}

TEST_CASE("a connection dropped mid-file is resumed where it stopped") {
  Fixture f;
  auto opts = f.options();
  opts.check = f.right_check();
  // The first two requests are cut after 300000 bytes each.
  const fs::path path = untar_data(f.server->url("drop/300000/2/pets.tgz"), opts);
  check_pets(path);
  CHECK(f.server->requests() == std::vector<std::string>{"/drop/300000/2/pets.tgz -",
                                                         "/drop/300000/2/pets.tgz bytes=300000-",
                                                         "/drop/300000/2/pets.tgz bytes=600000-"});
  CHECK(test::read_file(opts.archive_dir / "pets.tgz") == f.archive_bytes);
}

TEST_CASE("a server that ignores Range makes the download start over") {
  Fixture f;
  auto opts = f.options();
  fs::create_directories(opts.archive_dir);
  test::write_file(opts.archive_dir / "pets.tgz.part", f.archive_bytes.substr(0, 5000));
  check_pets(untar_data(f.server->url("norange/pets.tgz"), opts));
  CHECK(test::read_file(opts.archive_dir / "pets.tgz") == f.archive_bytes);
}

TEST_CASE("a server that ignores Range and drops every connection is given up on") {
  Fixture f;
  auto opts = f.options();
  // Every answer restarts at byte 0 and is cut after 1000 bytes: no attempt gets further than the first.
  CHECK_THROWS_WITH(untar_data(f.server->url("drop/1000/1000/norange/pets.tgz"), opts),
                    Catch::Contains("failed 3 times in a row without progress"));
  CHECK(f.server->requests().size() == 4);
}

TEST_CASE("a stale partial download from another version is discarded after the check fails") {
  Fixture f;
  auto opts = f.options();
  opts.check = f.right_check();
  fs::create_directories(opts.archive_dir);
  std::string stale = f.archive_bytes.substr(0, 4000);
  stale[100] = static_cast<char>(stale[100] ^ 0x55);
  test::write_file(opts.archive_dir / "pets.tgz.part", stale);
  check_pets(untar_data(f.server->url("pets.tgz"), opts));
  CHECK(f.server->requests() == std::vector<std::string>{"/pets.tgz bytes=4000-", "/pets.tgz -"});
}

TEST_CASE("a wrong checksum fails the download and keeps nothing") {
  Fixture f;
  auto opts = f.options();
  for (const FileCheck& wrong :
       {FileCheck{.size = f.archive_bytes.size() + 1, .md5_first_mib = {}, .sha256 = {}},
        FileCheck{.size = f.archive_bytes.size(), .md5_first_mib = std::string(32, 'a'), .sha256 = {}},
        FileCheck{.size = {}, .md5_first_mib = {}, .sha256 = std::string(64, 'b')}}) {
    opts.check = wrong;
    CHECK_THROWS_WITH(untar_data(f.server->url("pets.tgz"), opts),
                      Catch::Contains("corrupt or not the latest version") && Catch::Contains("pets.tgz"));
    CHECK_FALSE(fs::exists(opts.archive_dir / "pets.tgz"));
    CHECK_FALSE(fs::exists(opts.archive_dir / "pets.tgz.part"));
    CHECK_FALSE(fs::exists(opts.dest / "pets"));
  }
  opts.check = FileCheck{.size = {}, .md5_first_mib = {}, .sha256 = sha256_hex(f.archive_bytes)};
  check_pets(untar_data(f.server->url("pets.tgz"), opts));
}

TEST_CASE("a cached archive that fails its check is downloaded again") {
  Fixture f;
  auto opts = f.options();
  opts.check = f.right_check();
  test::write_file(opts.archive_dir / "pets.tgz", "an old version");
  check_pets(untar_data(f.server->url("pets.tgz"), opts));
  CHECK(f.server->requests().size() == 1);
}

TEST_CASE("force_download downloads and extracts again") {
  Fixture f;
  auto opts = f.options();
  const fs::path path = untar_data(f.server->url("pets.tgz"), opts);
  test::write_file(path / "user-file", "x");
  // A new version of the dataset on the server.
  auto entries = test::dataset_entries("oxford-iiit-pet", 5);
  entries.push_back({"oxford-iiit-pet/images/big.jpg", Entry::file, test::random_bytes(2 << 20, 7)});
  test::write_archive(f.served / "pets.tgz", Format::tgz, entries);
  CHECK(untar_data(f.server->url("pets.tgz"), opts) == path);  // cached: no download
  CHECK(fs::exists(path / "user-file"));
  opts.force_download = true;
  CHECK(untar_data(f.server->url("pets.tgz"), opts) == path);
  CHECK_FALSE(fs::exists(path / "user-file"));
  check_pets(path, 5);
  CHECK(f.server->requests().size() == 2);
  CHECK(test::snapshot(opts.dest).size() == test::snapshot(path).size() + 1);  // no leftovers beside it
}

TEST_CASE("offline: a missing dataset fails at once, naming the URL and where to put the archive") {
  Fixture f;
  auto opts = f.options();
  opts.offline = true;
  const std::string url = f.server->url("pets.tgz");
  const auto start = std::chrono::steady_clock::now();
  try {
    untar_data(url, opts);
    FAIL("untar_data must fail offline without a cached archive");
  } catch (const IoError& e) {
    CHECK_THAT(e.what(), Catch::Contains(url) && Catch::Contains((opts.archive_dir / "pets.tgz").string()) &&
                             Catch::Contains("offline"));
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  CHECK(f.server->requests().empty());
  CHECK_FALSE(fs::exists(f.home));  // nothing was created
  opts.force_download = true;
  CHECK_THROWS_WITH(untar_data(url, opts), Catch::Contains("force_download needs the network"));
  opts.force_download = false;

  // FASTPP_OFFLINE does the same; an archive placed by hand is then used.
  opts.offline = false;
  setenv("FASTPP_OFFLINE", "1", 1);
  CHECK_THROWS_AS(untar_data(url, opts), IoError);
  test::write_file(opts.archive_dir / "pets.tgz", f.archive_bytes);
  check_pets(untar_data(url, opts));
  CHECK(f.server->requests().empty());
  unsetenv("FASTPP_OFFLINE");
}

TEST_CASE("an unreachable server fails at once with the same advice") {
  Fixture f;
  auto opts = f.options();
  const std::string url = f.server->url("pets.tgz");
  f.server->stop();  // nothing listens on that port any more
  const auto start = std::chrono::steady_clock::now();
  try {
    untar_data(url, opts);
    FAIL("untar_data must fail without a server");
  } catch (const DownloadError& e) {
    CHECK(e.unreachable());
    CHECK_THAT(e.what(), Catch::Contains("cannot reach " + url) &&
                             Catch::Contains("place it at " + (opts.archive_dir / "pets.tgz").string()));
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("HTTP errors name the URL; redirects are followed") {
  Fixture f;
  auto opts = f.options();
  CHECK_THROWS_WITH(untar_data(f.server->url("missing.tgz"), opts),
                    Catch::Contains("HTTP status 404") && Catch::Contains(f.server->url("missing.tgz")));
  CHECK_THROWS_WITH(untar_data(f.server->url("status/503/pets.tgz"), opts), Catch::Contains("failed 3 times in a row"));
  CHECK_THROWS_AS(untar_data("ftp://127.0.0.1/pets.tgz", opts), ValueError);
  check_pets(untar_data(f.server->url("redirect/pets.tgz"), opts));
}

TEST_CASE("a truncated or hostile download is refused and leaves no dataset folder") {
  Fixture f;
  auto opts = f.options();
  test::write_file(f.served / "cut.tgz", f.archive_bytes.substr(0, f.archive_bytes.size() / 2));
  CHECK_THROWS_WITH(untar_data(f.server->url("cut.tgz"), opts),
                    Catch::Contains("truncated") && Catch::Contains("delete it or pass force_download"));
  CHECK_FALSE(fs::exists(opts.dest / "cut"));
  test::write_archive(f.served / "evil.tgz", Format::tgz, {{"../../escaped", Entry::file, "x"}});
  CHECK_THROWS_WITH(untar_data(f.server->url("evil.tgz"), opts), Catch::Contains("'../../escaped'"));
  CHECK(fs::is_empty(opts.dest));
  CHECK_FALSE(fs::exists(f.dir / "escaped"));
  CHECK_FALSE(fs::exists(f.home / "escaped"));
}

TEST_CASE("leftovers of an interrupted extraction are cleaned and never mistaken for the dataset") {
  Fixture f;
  auto opts = f.options();
  test::write_file(opts.dest / ".pets.partial-abc123/half.jpg", "half");
  check_pets(untar_data(f.server->url("pets.tgz"), opts));
  CHECK_FALSE(fs::exists(opts.dest / ".pets.partial-abc123"));
}

TEST_CASE("concurrent calls download and extract once", "[threads]") {
  Fixture f;
  auto opts = f.options();
  opts.check = f.right_check();
  const std::string url = f.server->url("pets.tgz");
  std::vector<fs::path> got(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < got.size(); ++i) threads.emplace_back([&, i] { got[i] = untar_data(url, opts); });
  for (auto& t : threads) t.join();
  for (const auto& p : got) CHECK(p == opts.dest / "pets");
  check_pets(opts.dest / "pets");
  CHECK(f.server->requests().size() == 1);
}
