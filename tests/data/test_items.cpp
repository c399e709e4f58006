#include <catch2/catch.hpp>
#include <fastpp/data.hpp>

#include "helpers.hpp"

using namespace fastpp;
using fastpp::test::TempDir;
using fastpp::test::write_text;
namespace fs = std::filesystem;

namespace {
std::vector<std::string> relative(const L<fs::path>& files, const fs::path& root) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.lexically_relative(root).generic_string());
  return out;
}
}  // namespace

TEST_CASE("get_image_files finds image extensions case-insensitively, skips hidden, returns sorted", "[items]") {
  TempDir t;
  for (const char* f : {"b/z.JPG", "b/a.png", "a/x.Jpeg", "a/deep/y.webp", "top.bmp", "notes.txt", "a/.hidden.jpg",
                        ".git/obj.png", "a/.cache/c.png", "a/noext", "c/d.TIFF", "c/e.gif"})
    write_text(t / f, "x");
  auto files = get_image_files(t.path());
  CHECK(relative(files, t.path()) ==
        std::vector<std::string>{"a/deep/y.webp", "a/x.Jpeg", "b/a.png", "b/z.JPG", "c/d.TIFF", "c/e.gif", "top.bmp"});
  // Printed as fastcore prints an L of paths.
  CHECK(files.str().rfind("(#7) [Path('", 0) == 0);
}

TEST_CASE("get_image_files: recurse=false and folders restrict as fastai", "[items]") {
  TempDir t;
  for (const char* f : {"train/cat/1.png", "train/dog/2.png", "valid/cat/3.png", "test/4.png", "root.png"})
    write_text(t / f, "x");
  CHECK(relative(get_image_files(t.path(), {.recurse = false}), t.path()) == std::vector<std::string>{"root.png"});
  // folders acts at the top level only, and files in the root need "." among them.
  CHECK(relative(get_image_files(t.path(), {.folders = {"train", "valid"}}), t.path()) ==
        std::vector<std::string>{"train/cat/1.png", "train/dog/2.png", "valid/cat/3.png"});
  CHECK(relative(get_image_files(t.path(), {.folders = {".", "test"}}), t.path()) ==
        std::vector<std::string>{"root.png", "test/4.png"});
  // a folder named like a top-level choice deeper down is not filtered
  CHECK(get_image_files(t.path(), {.folders = {"train"}}).size() == 2);
}

TEST_CASE("get_files with explicit extensions and without", "[items]") {
  TempDir t;
  write_text(t / "a.CSV", "x");
  write_text(t / "b.txt", "x");
  CHECK(get_files(t.path(), {.extensions = {"csv"}}).size() == 1);
  CHECK(get_files(t.path()).size() == 2);
}

TEST_CASE("get_image_files errors name the path", "[items]") {
  TempDir t;
  const auto missing = t / "nope";
  CHECK_THROWS_AS(get_image_files(missing), IoError);
  CHECK_THROWS_WITH(get_image_files(missing), Catch::Contains(missing.string()) && Catch::Contains("does not exist"));
  write_text(t / "file.png", "x");
  CHECK_THROWS_WITH(get_image_files(t / "file.png"), Catch::Contains("not a folder") && Catch::Contains("file.png"));
  // An empty folder is an empty list (the DataBlock turns it into an error with a hint).
  fs::create_directories(t / "empty");
  CHECK(get_image_files(t / "empty").empty());
}

TEST_CASE("get_image_files follows directory symlinks and survives a symlink loop", "[items]") {
  TempDir t;
  write_text(t / "real/a.png", "x");
  write_text(t / "real/sub/b.png", "x");
  std::error_code ec;
  fs::create_directory_symlink(t / "real", t / "real/sub/loop", ec);  // real/sub/loop -> real: a cycle
  if (ec) {
    WARN("cannot create symlinks here: " << ec.message());
    return;
  }
  fs::create_directory_symlink(t / "real/sub", t / "link_to_sub", ec);
  auto files = get_image_files(t.path());  // must return, not recurse forever
  // Each folder is entered once, under its real path.
  CHECK(relative(files, t.path()) == std::vector<std::string>{"real/a.png", "real/sub/b.png"});
  // A dangling link is ignored.
  fs::create_symlink(t / "missing.png", t / "dangling.png", ec);
  CHECK(get_image_files(t.path()).size() == 2);
  // A link to a folder outside the root is followed.
  write_text(t / "outside/c.png", "x");
  fs::create_directories(t / "root");
  fs::create_directory_symlink(t / "outside", t / "root/ext", ec);
  CHECK(relative(get_image_files(t / "root"), t / "root") == std::vector<std::string>{"ext/c.png"});
}

TEST_CASE("files sort component by component, as Python sorts paths", "[items]") {
  using detail::path_less;
  // The separator sorts before every other character: "a/b" (["a", "b"]) < "a-b" (["a-b"]).
  CHECK(path_less("r/a/b.png", "r/a-b.png"));
  CHECK_FALSE(path_less("r/a-b.png", "r/a/b.png"));
  CHECK(path_less("r/a/b", "r/a/b/c"));
  CHECK(path_less("r/B.png", "r/a.png"));  // byte order: upper case first
  CHECK(path_less("r/a.png", "r/\xC3\xA9.png"));  // bytes above 127 after ASCII
  CHECK_FALSE(path_less("r/a.png", "r/a.png"));
  std::vector<fs::path> v{"x/a-b", "x/a/b", "x/a", "x/A", "x/a.b"};
  std::sort(v.begin(), v.end(), path_less);
  std::vector<fs::path> w = v;
  std::sort(w.begin(), w.end());  // std::filesystem::path's own (component-wise) order
  CHECK(v == w);
}
