// ImageBlock's decode options (alpha policy, size limits) reach fastpp's decoder without a loader of one's
// own; summary() checks every file's header and lists the files that will fail before training; a file
// above the pixel limit stops the loader with a message that says what to do.
#include <catch2/catch.hpp>
#include <fastpp/data.hpp>
#include <fastpp/vision/item_transforms.hpp>

#include <sstream>

#include "helpers.hpp"

using namespace fastpp;
using namespace fastpp::test;

namespace {
fs::path vision_fixture(const std::string& name) { return fs::path(FASTPP_TEST_DATA_DIR) / "fixtures/vision" / name; }

void copy_to(const std::string& fixture, const fs::path& to) {
  fs::create_directories(to.parent_path());
  fs::copy_file(vision_fixture(fixture), to, fs::copy_options::overwrite_existing);
}

// train/{A,B} and valid/{A,B}, each file one of the 4 x 3 transparent fixtures.
void make_alpha_tree(const fs::path& root) {
  copy_to("alpha_rgba.png", root / "train/A/a0.png");
  copy_to("alpha_la.png", root / "train/A/a1.png");
  copy_to("alpha_palette_trns.png", root / "train/B/b0.png");
  copy_to("alpha_rgba.png", root / "valid/A/a2.png");
  copy_to("alpha_palette_trns.png", root / "valid/B/b1.png");
}
}  // namespace

TEST_CASE("ImageBlock{.decode = ...} composites transparent images in the batches, as load_image does",
          "[image_block][alpha]") {
  TempDir t;
  make_alpha_tree(t.path());
  const DecodeOptions onto_white{.alpha = AlphaPolicy::composite_onto({255, 255, 255})};
  auto db = DataBlock{Blocks{ImageBlock{.decode = onto_white}, CategoryBlock{}}, get_image_files,
                      GrandparentSplitter{}, parent_label};
  auto dls = db.dataloaders(t.path(), {.bs = 3, .shuffle = false, .num_workers = 0});
  const Batch b = dls.train.one_batch();
  REQUIRE(b.x.shape() == Shape{3, 3, 4, 3});
  const auto files = get_image_files(t.path() / "train");
  REQUIRE(files.size() == 3);
  bool any_differs_from_drop = false;
  for (std::int64_t i = 0; i < 3; ++i) {
    const Image want = load_image(files[static_cast<std::int64_t>(b.idxs[static_cast<std::size_t>(i)])], onto_white);
    const Image dropped = load_image(files[static_cast<std::int64_t>(b.idxs[static_cast<std::size_t>(i)])]);
    for (std::int64_t k = 0; k < want.numel(); ++k) {
      CHECK(b.x[i].data()[k] == Approx(want.data()[k] / 255.0f));
      any_differs_from_drop = any_differs_from_drop || want.data()[k] != dropped.data()[k];
    }
  }
  CHECK(any_differs_from_drop);  // the option reached the decoder: these files have transparent pixels
  // The default block drops alpha, as PIL's convert("RGB").
  const Image plain = ImageBlock{}.create(t / "train/A/a0.png");
  CHECK(std::equal(plain.begin(), plain.end(), load_image(t / "train/A/a0.png").begin()));
}

TEST_CASE("ImageBlock refuses decode options that a loader of its own would ignore", "[image_block]") {
  TempDir t;
  make_alpha_tree(t.path());
  const ImageBlock own{.load = [](const fs::path& p) { return load_image(p); },
                       .decode = {.alpha = AlphaPolicy::composite_onto({0, 0, 0})}};
  CHECK_THROWS_WITH(own.create(t / "train/A/a0.png"), Catch::Contains("pass the options to your loader"));
  const ImageBlock own_default{.load = [](const fs::path& p) { return load_image(p); }};
  CHECK(own_default.create(t / "train/A/a0.png").size(1) == 4);
}

TEST_CASE("summary() checks every file's header and lists those that will fail, and why", "[image_block][summary]") {
  TempDir t;
  make_alpha_tree(t.path());
  copy_to("huge_dims.png", t / "train/B/huge.png");            // 100000 x 100000: above the limits
  write_text(t / "valid/A/notes.png", "not a picture at all\n");  // text named .png
  copy_to("truncated.png", t / "valid/B/cut.png");              // its header is fine: found only by decoding
  auto db = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, GrandparentSplitter{}, parent_label};
  std::ostringstream os;
  db.summary(t.path(), os, 2);  // the first training items are good: summary goes on to the end
  const std::string out = os.str();
  INFO(out);
  CHECK_THAT(out, Catch::Contains("Checking the headers of 8 files"));
  CHECK_THAT(out, Catch::Contains("2 of 8 files will fail to load:"));
  CHECK_THAT(out, Catch::Contains("huge.png'): the image is too large: 100000 x 100000"));
  CHECK_THAT(out, Catch::Contains("notes.png'): not an image"));
  CHECK_THAT(out, !Catch::Contains("cut.png'):"));
  CHECK_THAT(out, Catch::Contains("{.on_bad_item = BadItems::skip}") && Catch::Contains("ImageBlock{.decode = {.limits"));
  CHECK_THAT(out, Catch::Contains("Building one batch"));  // the check comes before, and does not stop summary

  std::ostringstream clean;
  TempDir t2;
  make_alpha_tree(t2.path());
  db.summary(t2.path(), clean, 2);
  CHECK_THAT(clean.str(), Catch::Contains("Checking the headers of 5 files\n  every header is readable"));

  // A loader of one's own cannot be judged from headers: no check, rather than a false "every header is fine".
  auto own = DataBlock{Blocks{ImageBlock{.load = [](const fs::path& p) { return load_image(p); }}, CategoryBlock{}},
                       get_image_files, GrandparentSplitter{}, parent_label};
  std::ostringstream unchecked;
  own.summary(t2.path(), unchecked, 2);
  CHECK_THAT(unchecked.str(), !Catch::Contains("Checking the headers") && Catch::Contains("Building one batch"));
}

TEST_CASE("a file above the pixel limit stops the loader with what to do about it", "[image_block][limits]") {
  TempDir t;
  make_alpha_tree(t.path());
  copy_to("photo.png", t / "train/A/big.png");
  // A limit below photo.png's size stands for a dataset's oversized file.
  const Image photo = load_image(t / "train/A/big.png");
  const std::int64_t n = photo.size(0) * photo.size(1);
  auto db = DataBlock{Blocks{ImageBlock{.decode = {.limits = {.max_pixels = n - 1}}}, CategoryBlock{}}, get_image_files,
                      GrandparentSplitter{}, parent_label, item_tfms(Resize{4})};
  auto dls = db.dataloaders(t.path(), {.bs = 4, .shuffle = false, .num_workers = 0});
  std::string what;
  try {
    (void)dls.train.one_batch();
  } catch (const std::exception& e) {
    what = e.what();
  }
  CHECK_THAT(what, Catch::Contains("big.png") && Catch::Contains("too large") &&
                       Catch::Contains("{.on_bad_item = BadItems::skip}") &&
                       Catch::Contains("ImageBlock{.decode = {.limits = {.max_pixels = " + std::to_string(n) + "}}}"));
  // Both ways out work: skipping the file, or raising the limit through ImageBlock as the message spells it.
  std::ostringstream report;
  auto skipped = db.dataloaders(t.path(), {.bs = 2, .num_workers = 0, .on_bad_item = BadItems::skip, .report = &report});
  CHECK(skipped.bad_items.size() == 1);
  CHECK(skipped.train.one_batch().x.size(0) == 2);
  auto raised = DataBlock{Blocks{ImageBlock{.decode = {.limits = {.max_pixels = n}}}, CategoryBlock{}}, get_image_files,
                          GrandparentSplitter{}, parent_label, item_tfms(Resize{4})};
  CHECK(raised.dataloaders(t.path(), {.bs = 4, .shuffle = false, .num_workers = 0}).train.one_batch().x.size(0) == 4);
}
