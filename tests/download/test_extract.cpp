// Extraction: the formats datasets come in, fastai's untar_dir naming, and every kind of hostile archive,
// each refused with an error naming the archive and the entry, with nothing written outside the destination.
#include <catch2/catch.hpp>

#include <fastpp/io/download.hpp>

#include "helpers.hpp"

using namespace fastpp;
using test::Entry;
using test::Format;
namespace fs = std::filesystem;

namespace {

void check_dataset(const fs::path& root, std::uint32_t seed = 0) {
  CHECK(test::read_file(root / "images/great_pyrenees_173.jpg") == test::pattern_bytes(70000, seed));
  CHECK(test::read_file(root / "images/Abyssinian_1.jpg") == test::pattern_bytes(50000, seed + 1));
  CHECK(test::read_file(root / "annotations/list.txt") == "Abyssinian_1 1 1 1\n");
}

// Builds `entries` into an archive, extracts it with untar_dir into sandbox/data, and checks it is refused
// with a message naming the archive and `entry`, and that the sandbox (the destination's parent and its
// neighbours) is exactly as before.
void expect_refused(const std::vector<Entry>& entries, const std::string& entry, const std::string& reason,
                    Format format = Format::tgz, const ExtractLimits& limits = {}) {
  test::TempDir dir;
  const fs::path archive = dir / "work/evil.tgz";
  fs::create_directories(archive.parent_path());
  test::write_archive(archive, format, entries);
  const fs::path sandbox = dir / "sandbox";
  test::write_file(sandbox / "outside.txt", "precious");
  fs::create_directories(sandbox / "data");
  const auto before = test::snapshot(dir.path());
  try {
    untar_dir(archive, sandbox / "data", false, limits);
    FAIL("the archive was extracted, but it must be refused (" << reason << ")");
  } catch (const FormatError& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(e.path() == archive.string());
    CHECK_THAT(what, Catch::Contains("'" + entry + "'"));
    CHECK_THAT(what, Catch::Contains(reason));
  }
  CHECK(test::snapshot(dir.path()) == before);
}

}  // namespace

TEST_CASE("tgz, tar, tar.xz and zip datasets extract to data/<stem> with their single root unwrapped") {
  for (auto [format, name] : {std::pair{Format::tgz, "pets.tgz"}, std::pair{Format::tar, "pets.tar"},
                              std::pair{Format::tar_xz, "pets.tar.xz"}, std::pair{Format::zip, "pets.zip"}}) {
    INFO(name);
    test::TempDir dir;
    test::write_archive(dir / name, format, test::dataset_entries("oxford-iiit-pet"));
    const fs::path out = untar_dir(dir / name, dir / "data");
    CHECK(out == dir / "data/pets");
    check_dataset(out);
    CHECK_FALSE(fs::exists(out / "oxford-iiit-pet"));
    // Only the result is left in data/: no temporary folder.
    CHECK(test::snapshot(dir / "data").size() == test::snapshot(out).size() + 1);
  }
}

TEST_CASE("an archive with several root entries keeps them all under data/<stem>") {
  test::TempDir dir;
  test::write_archive(
      dir / "flat.tgz", Format::tgz,
      {{"a.txt", Entry::file, "A"}, {"sub/b.txt", Entry::file, "B"}, {"link", Entry::symlink, "", "sub/b.txt"}});
  const fs::path out = untar_dir(dir / "flat.tgz", dir / "data");
  CHECK(out == dir / "data/flat");
  CHECK(test::read_file(out / "a.txt") == "A");
  CHECK(test::read_file(out / "link") == "B");  // a link inside the dataset is fine
  CHECK((fs::status(out).permissions() & fs::perms::others_read) != fs::perms::none);
}

TEST_CASE("untar_dir returns an existing result unless asked to overwrite it") {
  test::TempDir dir;
  test::write_archive(dir / "ds.tgz", Format::tgz, test::dataset_entries("ds", 0));
  const fs::path out = untar_dir(dir / "ds.tgz", dir / "data");
  test::write_file(out / "marker", "user file");
  test::write_archive(dir / "ds.tgz", Format::tgz, test::dataset_entries("ds", 7));
  CHECK(untar_dir(dir / "ds.tgz", dir / "data") == out);
  CHECK(fs::exists(out / "marker"));
  check_dataset(out, 0);
  CHECK(untar_dir(dir / "ds.tgz", dir / "data", true) == out);
  CHECK_FALSE(fs::exists(out / "marker"));
  check_dataset(out, 7);
  CHECK(test::snapshot(dir / "data").size() == test::snapshot(out).size() + 1);
}

TEST_CASE("hard links to files of the same archive are extracted") {
  test::TempDir dir;
  test::write_archive(dir / "hl.tar", Format::tar,
                      {{"d/a.txt", Entry::file, "same"}, {"d/b.txt", Entry::hardlink, "", "d/a.txt"}});
  const fs::path out = untar_dir(dir / "hl.tar", dir / "data");
  CHECK(test::read_file(out / "a.txt") == "same");
  CHECK(test::read_file(out / "b.txt") == "same");
  CHECK(fs::equivalent(out / "a.txt", out / "b.txt"));
}

TEST_CASE("extract_archive writes the destination completely or not at all") {
  test::TempDir dir;
  test::write_archive(dir / "x.zip", Format::zip, {{"f.txt", Entry::file, "zip content"}});
  CHECK(extract_archive(dir / "x.zip", dir / "out") == dir / "out");
  CHECK(test::read_file(dir / "out/f.txt") == "zip content");
  CHECK_THROWS_WITH(extract_archive(dir / "x.zip", dir / "out"), Catch::Contains("already exists"));
  CHECK_THROWS_AS(extract_archive(dir / "missing.zip", dir / "out2"), IoError);
}

TEST_CASE("entries with '..' are refused") {
  expect_refused({{"ok.txt", Entry::file, "ok"}, {"../escaped.txt", Entry::file, "evil"}}, "../escaped.txt",
                 "climbs out of the destination with '..'");
  expect_refused({{"a/b/../../../escaped.txt", Entry::file, "evil"}}, "a/b/../../../escaped.txt",
                 "climbs out of the destination");
  expect_refused({{"../escaped.txt", Entry::file, "evil"}}, "../escaped.txt", "climbs out", Format::zip);
}

TEST_CASE("entries with absolute paths are refused") {
  test::TempDir target_dir;  // where an absolute entry would land if it were obeyed
  const std::string absolute = (target_dir / "absolute.txt").string();
  expect_refused({{absolute, Entry::file, "evil"}}, absolute, "has an absolute path");
  CHECK_FALSE(fs::exists(absolute));
}

TEST_CASE("symbolic links that point outside the destination are refused") {
  expect_refused({{"link", Entry::symlink, "", "../outside.txt"}}, "link", "pointing outside the destination");
  expect_refused({{"d/e/link", Entry::symlink, "", "../../../outside.txt"}}, "d/e/link", "pointing outside");
  expect_refused({{"link", Entry::symlink, "", "/etc/passwd"}}, "link", "symbolic link to an absolute path");
  // Each link alone stays inside; together "b" -> "a/.." -> "./.." is the parent of the destination.
  expect_refused({{"a", Entry::symlink, "", "."}, {"b", Entry::symlink, "", "a/.."}}, "b",
                 "resolves outside the destination");
  // Writing through a link (even one pointing inside) is refused: the classic two-step escape.
  expect_refused({{"sub/", Entry::dir}, {"link", Entry::symlink, "", "sub"}, {"link/file.txt", Entry::file, "x"}},
                 "link/file.txt", "goes through the symbolic link 'link'");
}

TEST_CASE("hard links that point outside the destination are refused") {
  expect_refused({{"h", Entry::hardlink, "", "../outside.txt"}}, "h", "is a hard link whose target '../outside.txt'",
                 Format::tar);
  expect_refused({{"h", Entry::hardlink, "", "/etc/passwd"}}, "h", "has an absolute path", Format::tar);
  expect_refused({{"h", Entry::hardlink, "", "never-extracted.txt"}}, "h", "not a regular file extracted earlier",
                 Format::tar);
  expect_refused({{"a", Entry::symlink, "", "."}, {"h", Entry::hardlink, "", "a/outside.txt"}}, "h",
                 "not a regular file extracted earlier", Format::tar);
}

TEST_CASE("device files and FIFOs are refused") {
  expect_refused({{"null", Entry::chardev}}, "null", "is a device file");
  expect_refused({{"disk", Entry::blockdev}}, "disk", "is a device file");
  expect_refused({{"pipe", Entry::fifo}}, "pipe", "is a FIFO");
}

TEST_CASE("archives that expand beyond the limit are refused") {
  // By the default limit: 80 MiB of zeros compress to ~80 KiB, far more than 100x and beyond the 64 MiB floor.
  expect_refused({{"bomb.bin", Entry::file, "", "", std::uint64_t{80} << 20}}, "bomb.bin",
                 "would expand the archive beyond its limit");
  // By an explicit byte limit, over several entries.
  const ExtractLimits small{.max_bytes = 2500000, .max_ratio = 0, .ratio_floor = 0, .max_entries = 100};
  expect_refused({{"a", Entry::file, test::pattern_bytes(1000000)},
                  {"b", Entry::file, test::pattern_bytes(1000000)},
                  {"c", Entry::file, test::pattern_bytes(1000000)}},
                 "c", "beyond its limit of 2500000 bytes", Format::tar, small);
  const ExtractLimits few{.max_bytes = 1 << 20, .max_ratio = 0, .ratio_floor = 0, .max_entries = 2};
  expect_refused({{"a", Entry::file, "1"}, {"b", Entry::file, "2"}, {"c", Entry::file, "3"}}, "c",
                 "one entry more than the limit of 2", Format::tar, few);
}

TEST_CASE("truncated, corrupt and empty archives are refused and leave nothing") {
  test::TempDir dir;
  fs::create_directories(dir / "data");
  test::write_archive(dir / "whole.tgz", Format::tgz, test::dataset_entries("ds"));
  const std::string whole = test::read_file(dir / "whole.tgz");
  test::write_file(dir / "cut.tgz", whole.substr(0, whole.size() / 2));
  test::write_file(dir / "noise.tgz", test::pattern_bytes(5000));
  test::write_archive(dir / "empty.tar", Format::tar, {});
  for (const char* name : {"cut.tgz", "noise.tgz", "empty.tar"}) {
    INFO(name);
    try {
      untar_dir(dir / name, dir / "data");
      FAIL("extracted a broken archive");
    } catch (const FormatError& e) {
      CHECK(e.path() == (dir / name).string());
    }
    CHECK(fs::is_empty(dir / "data"));
  }
}
