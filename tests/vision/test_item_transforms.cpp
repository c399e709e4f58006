// Resize and RandomResizedCrop against PIL/torchvision references (tests/fixtures/vision/make_fixtures.py
// re-implements fastai's item transforms with PIL's crop and resize and torchvision's pad).
#include <catch2/catch.hpp>

#include <fastpp/vision/image.hpp>
#include <fastpp/vision/item_transforms.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "vision_test_util.hpp"

using namespace fastpp;
using vtest::fixture;

namespace {
ResizeMethod parse_method(const std::string& s) {
  return s == "crop" ? ResizeMethod::crop : s == "pad" ? ResizeMethod::pad : ResizeMethod::squish;
}
PadMode parse_pad(const std::string& s) {
  return s == "zeros" ? PadMode::zeros : s == "border" ? PadMode::border : PadMode::reflection;
}
}  // namespace

TEST_CASE("Resize (crop, pad, squish; every pad mode) gives PIL's pixels exactly", "[vision][resize]") {
  const Image src = load_image(fixture("photo.png"));
  std::ifstream cases(fixture("resize_cases.txt"));
  REQUIRE(cases);
  std::string line;
  int n = 0;
  while (std::getline(cases, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream is(line);
    std::string name, method, pad;
    std::int64_t tw = 0, th = 0;
    double px = 0, py = 0;
    is >> name >> tw >> th >> method >> pad >> px >> py;
    INFO(name);
    const Resize r{.size = SizeHW{th, tw}, .method = parse_method(method), .pad_mode = parse_pad(pad)};
    const Image out = r.apply(src, px, py);
    const Image ref = load_image(fixture(name + ".png"));
    REQUIRE(out.shape() == ref.shape());
    CHECK(vtest::max_abs_diff_u8(out, ref) == 0);
    ++n;
  }
  CHECK(n == 7);
}

TEST_CASE("Resize: random position on train, centre on valid, same draw for the same rng", "[vision][resize]") {
  const Image src = load_image(fixture("photo.png"));  // 64 x 48: a 24 x 24 crop box is 48 x 48
  const Resize r{24};
  ItemContext valid{Split::valid, Rng(1, 2), 0};
  const Image v = r(src, valid);
  CHECK(vtest::max_abs_diff_u8(v, load_image(fixture("resize_crop_valid.png"))) == 0);
  CHECK(vtest::max_abs_diff_u8(v, r(src, valid)) == 0);  // valid is deterministic
  ItemContext a{Split::train, Rng(7, 3), 0}, b{Split::train, Rng(7, 3), 0};
  CHECK(vtest::max_abs_diff_u8(r(src, a), r(src, b)) == 0);
  // Different streams give different crops (positions 0..16 horizontally): at least one of 8 differs.
  bool differs = false;
  for (std::uint64_t s = 0; s < 8; ++s) {
    ItemContext c{Split::train, Rng(7, 100 + s), 0};
    differs = differs || vtest::max_abs_diff_u8(r(src, c), v) != 0;
  }
  CHECK(differs);
  CHECK(resize_crop_box(64, 48, 24, ResizeMethod::crop, 0.5, 0.5) == CropBox{8, 0, 48, 48});
  CHECK(resize_crop_box(64, 48, 24, ResizeMethod::pad, 0.5, 0.5) == CropBox{0, -8, 64, 64});
  CHECK(resize_crop_box(64, 48, 24, ResizeMethod::squish, 0.1, 0.9) == CropBox{0, 0, 64, 48});
  CHECK(r.name().find("Resize") == 0);
}

TEST_CASE("RandomResizedCrop: valid squishes to size + xtra and keeps the centre, as fastai with PIL", "[vision][resize]") {
  const Image src = load_image(fixture("photo.png"));
  const RandomResizedCrop rrc{24};
  ItemContext valid{Split::valid, Rng(0), 0};
  CHECK(vtest::max_abs_diff_u8(rrc(src, valid), load_image(fixture("rrc_valid.png"))) == 0);
  CHECK(vtest::max_abs_diff_u8(rrc.apply(src, CropBox{11, 7, 37, 29}), load_image(fixture("rrc_box.png"))) == 0);
}

TEST_CASE("RandomResizedCrop: training boxes follow fastai's area and ratio law", "[vision][resize]") {
  const RandomResizedCrop rrc{.size = 16, .min_scale = 0.3};
  Rng rng(11);
  int fallback = 0;
  for (int i = 0; i < 2000; ++i) {
    const CropBox b = rrc.train_box(200, 100, rng);
    REQUIRE(b.left >= 0);
    REQUIRE(b.top >= 0);
    REQUIRE(b.left + b.width <= 200);
    REQUIRE(b.top + b.height <= 100);
    const double area = double(b.width * b.height) / (200.0 * 100.0);
    const double ratio = double(b.width) / double(b.height);
    if (b.width == 133 && b.height == 100) {  // all 10 attempts failed: centred box, aspect clamped to 4/3
      ++fallback;
      continue;
    }
    CHECK(area >= 0.3 - 0.02);
    CHECK(area <= 1.0 + 0.02);
    CHECK(ratio >= 0.75 * 0.97);
    CHECK(ratio <= 4.0 / 3.0 * 1.03);
  }
  CHECK(fallback < 100);
  // A tall image whose every attempt fails falls back to a centred crop with the aspect clamped to 3/4.
  const RandomResizedCrop impossible{.size = 8, .min_scale = 1.0, .ratio = {1.2, 1.3}};
  Rng r2(3);
  CHECK(impossible.train_box(10, 40, r2) == CropBox{0, 16, 10, 8});
}

TEST_CASE("Python's round() semantics for the crop sizes", "[vision][resize]") {
  CHECK(detail::round_half_even(2.5) == 2);
  CHECK(detail::round_half_even(3.5) == 4);
  CHECK(detail::round_half_even(2.4999) == 2);
  CHECK(detail::round_half_even(7.0) == 7);
}
