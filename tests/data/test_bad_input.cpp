#include <catch2/catch.hpp>
#include <fastpp/data.hpp>

#include <sstream>

#include "helpers.hpp"
#include "test_tfms.hpp"

using namespace fastpp;
using namespace fastpp::test;

namespace {
std::string decode_error(const std::string& bytes) {
  try {
    decode_netpbm(std::vector<std::uint8_t>(bytes.begin(), bytes.end()), "f.ppm");
  } catch (const FormatError& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("the PGM/PPM decoder refuses bad bytes with the reason and the file", "[bad_input]") {
  CHECK_THAT(decode_error(""), Catch::Contains("empty (0 bytes)") && Catch::Contains("f.ppm"));
  CHECK_THAT(decode_error("hello, I am text"), Catch::Contains("not a binary PGM/PPM image"));
  CHECK_THAT(decode_error("\xFF\xD8\xFF\xE0 JFIF"), Catch::Contains("does not start with P5 or P6"));
  CHECK_THAT(decode_error("P6\n"), Catch::Contains("width is missing"));
  CHECK_THAT(decode_error("P6\n12 x\n255\n"), Catch::Contains("height is not a number"));
  CHECK_THAT(decode_error("P6 2 2 255\nabc"), Catch::Contains("truncated, 3 bytes of pixels where 12 are needed"));
  CHECK_THAT(decode_error("P6 2 2 255"), Catch::Contains("ends after the header"));
  CHECK_THAT(decode_error("P6 0 2 255\n"), Catch::Contains("0x2"));
  CHECK_THAT(decode_error("P6 2 2 0\n"), Catch::Contains("maximum value 0"));
  CHECK_THAT(decode_error("P6 2 2 70000\n"), Catch::Contains("maximum value 70000"));
  CHECK_THAT(decode_error("P6 1234567890 2 255\n"), Catch::Contains("too many digits"));
  // Absurd dimensions are refused before any allocation.
  CHECK_THAT(decode_error("P6 900000000 900000000 255\n"), Catch::Contains("above the limit"));
  CHECK_THAT(decode_error("P5 100000 100000 255\n"), Catch::Contains("above the limit"));
}

TEST_CASE("the PGM/PPM decoder reads grey, RGB, 16-bit and comments", "[bad_input]") {
  auto decode = [](const std::string& s) { return decode_netpbm(std::vector<std::uint8_t>(s.begin(), s.end()), "x"); };
  const Image grey = decode(std::string("P5 # a comment\n2 1\n255\n") + std::string("\x10\xF0", 2));
  CHECK(grey.shape() == Shape{1, 2, 3});
  CHECK(+grey(0, 0, 0) == 0x10);
  CHECK(+grey(0, 1, 2) == 0xF0);
  const Image rgb = decode(std::string("P6\n1 1\n255\n") + "abc");
  CHECK(+rgb(0, 0, 1) == 'b');
  const Image wide = decode(std::string("P5 1 1 65535\n") + std::string("\xFF\xFF", 2));
  CHECK(+wide(0, 0, 0) == 255);
  const Image low = decode(std::string("P5 1 1 15\n") + std::string("\x0F", 1));
  CHECK(+low(0, 0, 0) == 255);
  TempDir t;
  const Image img = pattern_image(5, 7, 3);
  save_ppm(t / "a.ppm", img);
  const Image back = load_netpbm(t / "a.ppm");
  CHECK(std::equal(img.begin(), img.end(), back.begin()));
  CHECK_THROWS_WITH(load_netpbm(t / "missing.ppm"), Catch::Contains("cannot open") && Catch::Contains("missing.ppm"));
}

namespace {
// The tree plus one file of each kind of badness, in train/ and valid/.
void add_bad_files(const fs::path& root) {
  write_text(root / "train/Bag/Bag_90.ppm", "");                         // zero bytes
  write_text(root / "train/Sandal/Sandal_91.ppm", "P6\n10 10\n255\nab");  // truncated
  write_text(root / "train/Sandal/Sandal_92.jpg", "just some text\n");   // text with an image extension
  write_text(root / "valid/Bag/Bag_93.ppm", "P6 99999 99999 255\n");     // absurd dimensions
}
}  // namespace

TEST_CASE("bad files: dataloaders names the file and the reason; summary too", "[bad_input][threads]") {
  TempDir t;
  make_tree(t.path());
  write_text(t / "train/Bag/Bag_0.ppm", "");  // the very first training item is empty
  auto db = DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label(),
                      item_tfms(CropTo{8})};
  std::ostringstream os;
  CHECK_THROWS_AS(db.summary(t.path(), os), FormatError);
  CHECK_THAT(os.str(), Catch::Contains("applying ImageBlock.load failed") && Catch::Contains("Bag_0.ppm')") &&
                           Catch::Contains("error: the file is empty (0 bytes)"));
  auto dls = db.dataloaders(t.path(), {.bs = 4, .shuffle = false, .num_workers = 2});
  CHECK_THROWS_WITH(dls.one_batch(), Catch::Contains("empty (0 bytes)") && Catch::Contains("Bag_0.ppm"));
  CHECK_THROWS_WITH(*dls.train.begin(), Catch::Contains("Bag_0.ppm"));
}

TEST_CASE("BadItems::skip leaves bad files out and reports them all once", "[bad_input][threads]") {
  TempDir t;
  make_tree(t.path());
  add_bad_files(t.path());
  auto any_ext = using_attr(RegexLabeller{R"((.+)_\d+\.\w+$)"}, file_name);
  auto db = DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, any_ext,
                      item_tfms(CropTo{8})};
  std::ostringstream report;
  auto dls = db.dataloaders(t.path(), {.bs = 4, .num_workers = 2, .on_bad_item = BadItems::skip, .report = &report});
  CHECK(dls.bad_items.size() == 4);
  CHECK(dls.train.n_items() == 24);
  CHECK(dls.valid.n_items() == 9);
  const std::string r = report.str();
  INFO(r);
  CHECK_THAT(r, Catch::StartsWith("dataloaders: skipped 4 of 37 files that could not be loaded:\n"));
  for (const char* f : {"Bag_90.ppm')", "Sandal_91.ppm')", "Sandal_92.jpg')", "Bag_93.ppm')"})
    CHECK_THAT(r, Catch::Contains(f));
  CHECK_THAT(r, Catch::Contains("empty (0 bytes)") && Catch::Contains("truncated") &&
                    Catch::Contains("not a binary PGM/PPM") && Catch::Contains("above the limit"));
  std::int64_t n = 0;
  for (const Batch& b : dls.train) n += b.x.size(0);
  CHECK(n == 24);
  // Without skip, the same data fails on the first bad file it meets, naming it.
  auto strict = db.dataloaders(t.path(), {.bs = 4, .num_workers = 2});
  CHECK_THROWS_AS([&] { for (const Batch& b : strict.train) (void)b; }(), FormatError);
}

TEST_CASE("a symlink loop inside the data folder does not hang dataloaders", "[bad_input][threads]") {
  TempDir t;
  make_tree(t.path());
  std::error_code ec;
  fs::create_directory_symlink(t / "train", t / "train/Bag/again", ec);
  if (ec) {
    WARN("cannot create symlinks here: " << ec.message());
    return;
  }
  auto db = DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label(),
                      item_tfms(CropTo{8})};
  auto dls = db.dataloaders(t.path(), {.bs = 4, .num_workers = 1});
  CHECK(dls.train.n_items() == 24);
}
