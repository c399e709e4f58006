// A file above the decode limits is refused with what to do about it, and header_problem judges a file
// from its header alone (what DataBlock::summary() runs on every file before training).
#include <catch2/catch.hpp>
#include <fastpp/vision/image.hpp>
#include <string>

#include "vision_test_util.hpp"

using namespace fastpp;
using vtest::fixture;

namespace {
std::string io_load_error(const std::string& path, const DecodeOptions& opts = {}) {
  try {
    (void)load_image(path, opts);
  } catch (const IoError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("an image above the limits is refused with the two ways out, spelled as code", "[vision][limits]") {
  // 100000 x 100000: above max_side (2^15) first.
  const std::string side = io_load_error(fixture("huge_dims.png"));
  CHECK_THAT(side, Catch::Contains("DecodeLimits::max_side") && Catch::Contains("{.limits = {.max_side = 100000}}") &&
                       Catch::Contains("ImageBlock{.decode = {.limits = {.max_side = 100000}}}") &&
                       Catch::Contains("{.on_bad_item = BadItems::skip}"));
  // photo.png above a tight pixel limit: the advice names the pixel count it needs.
  const ImageInfo info = [] {
    const auto bytes = read_file_bytes(fixture("photo.png"));
    return image_info(bytes.data(), bytes.size());
  }();
  const std::int64_t n = info.width * info.height;
  const std::string pixels = io_load_error(fixture("photo.png"), {.limits = {.max_pixels = n - 1}});
  CHECK_THAT(pixels, Catch::Contains("DecodeLimits::max_pixels") &&
                         Catch::Contains("ImageBlock{.decode = {.limits = {.max_pixels = " + std::to_string(n) + "}}}") &&
                         Catch::Contains("BadItems::skip"));
  // Following the advice decodes it.
  CHECK(load_image(fixture("photo.png"), {.limits = {.max_pixels = n}}).size(0) == info.height);
}

TEST_CASE("header_problem names what will fail from the header alone, without the path", "[vision][limits]") {
  CHECK(header_problem(fixture("photo.png")) == "");
  CHECK(header_problem(fixture("small.bmp")) == "");
  const std::string huge = header_problem(fixture("huge_dims.png"));
  CHECK_THAT(huge, Catch::StartsWith("the image is too large: 100000 x 100000") && Catch::Contains("max_side"));
  CHECK_THAT(huge, !Catch::Contains("[file:") && !Catch::Contains("BadItems"));  // the caller says what to do, once
  CHECK_THAT(header_problem(fixture("photo.png"), {.max_pixels = 100}), Catch::Contains("max_pixels"));
  CHECK_THAT(header_problem(fixture("photo.png"), {.max_file_bytes = 10}), Catch::Contains("max_file_bytes"));
  CHECK_THAT(header_problem(fixture("zero_bytes.jpg")), Catch::Contains("empty (0 bytes)"));
  CHECK_THAT(header_problem(fixture("text.jpg")), Catch::Contains("not an image"));
  CHECK_THAT(header_problem(fixture("small.gif")), Catch::Contains("GIF images are not supported"));
  CHECK_THAT(header_problem(fixture("does_not_exist.png")), Catch::Contains("does not exist"));
  CHECK_THAT(header_problem(std::string(FASTPP_TEST_DATA_DIR) + "/fixtures/vision"), Catch::Contains("is a folder"));
  // Damage after the header is found only by decoding: the header of a truncated PNG is fine.
  CHECK(header_problem(fixture("truncated.png")) == "");
  CHECK(!io_load_error(fixture("truncated.png")).empty());
}
