// Transparency: DecodeOptions::alpha drops it (PIL's convert("RGB"), the default) or composites each pixel
// onto a colour, on an RGBA, a grey+alpha and a 2-bit palette + tRNS PNG. The expected pixels are PIL 9.4's,
// written by tests/fixtures/vision/make_alpha_pngs.py beside the files.
#include <catch2/catch.hpp>
#include <fastpp/vision/image.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "vision_test_util.hpp"

using namespace fastpp;
using vtest::fixture;

namespace {
struct Expected {
  std::string file;
  AlphaPolicy policy;
  std::vector<int> pixels;  // r g b per pixel, row-major
};

std::vector<Expected> read_expected() {
  std::ifstream in(fixture("alpha_expected.txt"));
  REQUIRE(in);
  std::vector<Expected> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    Expected e;
    std::string mode;
    ls >> e.file >> mode;
    if (mode == "composite") {
      int r = 0, g = 0, b = 0;
      ls >> r >> g >> b;
      e.policy = AlphaPolicy::composite_onto(
          {static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(b)});
    } else {
      REQUIRE(mode == "drop");
    }
    for (int v = 0; ls >> v;) e.pixels.push_back(v);
    out.push_back(std::move(e));
  }
  return out;
}
}  // namespace

TEST_CASE("alpha is dropped as PIL's convert('RGB') or composited onto a colour as PIL's paste", "[vision][alpha]") {
  const auto cases = read_expected();
  REQUIRE(cases.size() == 9);  // 3 files x (drop + 2 backgrounds)
  for (const auto& e : cases) {
    INFO(e.file << (e.policy.mode == AlphaPolicy::Mode::drop ? " drop" : " composite"));
    const Image img = load_image(fixture(e.file), {.alpha = e.policy});
    REQUIRE(img.shape() == Shape{3, 4, 3});
    REQUIRE(static_cast<std::int64_t>(e.pixels.size()) == img.numel());
    int worst = 0;
    for (std::int64_t i = 0; i < img.numel(); ++i)
      worst = std::max(worst, std::abs(int(img.data()[i]) - e.pixels[static_cast<std::size_t>(i)]));
    CHECK(worst == 0);
  }
}

TEST_CASE("drop is the default, and compositing changes only transparent pixels", "[vision][alpha]") {
  for (const char* name : {"alpha_rgba.png", "alpha_la.png", "alpha_palette_trns.png"}) {
    INFO(name);
    CHECK(vtest::max_abs_diff_u8(load_image(fixture(name)), load_image(fixture(name), {.alpha = AlphaPolicy::drop()})) == 0);
  }
  // An opaque image (no alpha, no tRNS) decodes the same under both policies, onto any colour.
  const Image plain = load_image(fixture("small.bmp"));
  const Image onto = load_image(fixture("small.bmp"), {.alpha = AlphaPolicy::composite_onto({255, 0, 255})});
  CHECK(vtest::max_abs_diff_u8(plain, onto) == 0);
  const auto png = encode_png(plain);
  CHECK(vtest::max_abs_diff_u8(decode_image(png, "x.png", {.alpha = AlphaPolicy::composite_onto({9, 9, 9})}), plain) == 0);
  // A fully transparent pixel becomes the background; an opaque one keeps its colour.
  const Image white = load_image(fixture("alpha_palette_trns.png"), {.alpha = AlphaPolicy::composite_onto({255, 255, 255})});
  CHECK((+white(0, 0, 0) == 255 && +white(0, 0, 1) == 255 && +white(0, 0, 2) == 255));  // index 0: tRNS 0
  CHECK((+white(0, 2, 0) == 20 && +white(0, 2, 1) == 200 && +white(0, 2, 2) == 90));    // index 2: tRNS 255
}
