// Decoding real files: every supported colour layout becomes 8-bit RGB, and every bad file is refused with
// an error that names the file and the reason.
#include <catch2/catch.hpp>

#include <fastpp/vision/image.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "vision_test_util.hpp"

using namespace fastpp;
using vtest::fixture;

namespace {
// The error message of load_image(path), or "" when it succeeded.
std::string load_error(const std::string& path, const DecodeOptions& opts = {}) {
  try {
    (void)load_image(path, opts);
  } catch (const FormatError& e) {
    CHECK(e.path() == path);
    return e.what();
  } catch (const IoError& e) {
    CHECK(e.path() == path);
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("PNG, JPEG and BMP decode to RGB with their header's size", "[vision][decode]") {
  const Image png = load_image(fixture("photo.png"));
  REQUIRE(png.shape() == Shape{48, 64, 3});
  const Image jpg = load_image(fixture("photo.jpg"), DecodeOptions{.jpeg = JpegDecoder::stb});
  REQUIRE(jpg.shape() == Shape{48, 64, 3});
  // JPEG at quality 90 stays close to the lossless PNG of the same picture.
  double err = 0;
  for (std::int64_t i = 0; i < png.numel(); ++i) err += std::abs(int(png.data()[i]) - int(jpg.data()[i]));
  CHECK(err / double(png.numel()) < 6.0);
  const Image bmp = load_image(fixture("small.bmp"));
  REQUIRE(bmp.shape() == Shape{12, 16, 3});
  const auto info = image_info(read_file_bytes(fixture("photo.png")).data(), read_file_bytes(fixture("photo.png")).size());
  CHECK(info.format == ImageFormat::png);
  CHECK(info.width == 64);
  CHECK(info.height == 48);
}

TEST_CASE("grey, grey+alpha, palette and 16-bit images become 8-bit RGB as PIL's convert('RGB')", "[vision][decode]") {
  const Image rgb = load_image(fixture("small.bmp"));  // the reference picture, 16 x 12
  SECTION("grey replicates the grey level in R, G and B") {
    const Image g = load_image(fixture("grey.png"));
    REQUIRE(g.shape() == Shape{12, 16, 3});
    for (std::int64_t i = 0; i < 12 * 16; ++i) {
      CHECK(g.data()[3 * i] == g.data()[3 * i + 1]);
      CHECK(g.data()[3 * i] == g.data()[3 * i + 2]);
      // PIL's L = (299 R + 587 G + 114 B) / 1000, rounded
      const int l = (299 * rgb.data()[3 * i] + 587 * rgb.data()[3 * i + 1] + 114 * rgb.data()[3 * i + 2] + 500) / 1000;
      CHECK(std::abs(int(g.data()[3 * i]) - l) <= 1);
    }
  }
  SECTION("grey+alpha drops the alpha channel (not composited)") {
    const Image ga = load_image(fixture("grey_alpha.png"));
    const Image g = load_image(fixture("grey.png"));
    REQUIRE(ga.shape() == Shape{12, 16, 3});
    CHECK(vtest::max_abs_diff_u8(ga, g) == 0);
  }
  SECTION("a palette image takes its colours from the palette") {
    const Image p = load_image(fixture("palette.png"));
    REQUIRE(p.shape() == Shape{12, 16, 3});
    // 16 adaptive colours: close to the original, and never more than 16 distinct colours
    std::set<int> colours;
    for (std::int64_t i = 0; i < 12 * 16; ++i)
      colours.insert(p.data()[3 * i] << 16 | p.data()[3 * i + 1] << 8 | p.data()[3 * i + 2]);
    CHECK(colours.size() <= 16);
    CHECK(colours.size() >= 4);
    double err = 0;
    for (std::int64_t i = 0; i < p.numel(); ++i) err += std::abs(int(p.data()[i]) - int(rgb.data()[i]));
    CHECK(err / double(p.numel()) < 20.0);
  }
  SECTION("16-bit samples keep their high byte") {
    const auto bytes = read_file_bytes(fixture("rgb16.png"));
    CHECK(image_info(bytes.data(), bytes.size()).sixteen_bit);
    const Image p = decode_image(bytes, "rgb16.png");
    REQUIRE(p.shape() == Shape{12, 16, 3});
    CHECK(vtest::max_abs_diff_u8(p, rgb) == 0);  // the file holds (v << 8) | (v ^ 0x5a)
  }
  SECTION("a grey JPEG") {
    const Image g = load_image(fixture("grey.jpg"));
    REQUIRE(g.shape() == Shape{12, 16, 3});
    CHECK(g.data()[0] == g.data()[1]);
  }
}

TEST_CASE("bad files are refused with the file's name and the reason", "[vision][decode]") {
  CHECK_THAT(load_error(fixture("zero_bytes.jpg")), Catch::Contains("empty (0 bytes)") && Catch::Contains("zero_bytes.jpg"));
  CHECK_THAT(load_error(fixture("text.jpg")), Catch::Contains("not an image") && Catch::Contains("this is") &&
                                                  Catch::Contains("text.jpg"));
  CHECK_THAT(load_error(fixture("truncated.png")), Catch::Contains("truncated.png") &&
                                                       (Catch::Contains("corrupt") || Catch::Contains("truncated")));
  CHECK_THAT(load_error(fixture("truncated.jpg")), Catch::Contains("truncated.jpg") && Catch::Contains("truncated"));
  CHECK_THAT(load_error(fixture("corrupt.jpg")), Catch::Contains("corrupt.jpg"));
  // Found by fuzz/fuzz_decode.cpp: a Huffman table of more than 256 codes made Debian's stb 2.27 write past
  // its tables (UBSan: index 257 out of bounds); fastpp's own JPEG pre-check refuses it before stb runs.
  CHECK_THAT(load_error(fixture("huffman_overflow.jpg")), Catch::Contains("huffman_overflow.jpg") &&
                                                              Catch::Contains("Huffman table declares"));
  // Also from the fuzzer: a scan using an AC table no DHT defined made stb read far out of bounds.
  CHECK_THAT(load_error(fixture("undefined_huffman_table.jpg"), DecodeOptions{.jpeg = JpegDecoder::stb}),
             Catch::Contains("Huffman table that is not defined (AC 0)"));
  CHECK_THAT(load_error(fixture("small.gif")), Catch::Contains("GIF images are not supported"));
  CHECK_THAT(load_error(fixture("does_not_exist.png")), Catch::Contains("does not exist"));
  CHECK_THAT(load_error(std::string(FASTPP_TEST_DATA_DIR) + "/fixtures/vision"), Catch::Contains("is a folder"));
}

TEST_CASE("an absurd header is refused before any pixel is allocated, and the limits are configurable", "[vision][decode]") {
  // 100000 x 100000 (10^10 pixels, 30 GB of RGB) with no pixel data at all: only the header is read.
  CHECK_THAT(load_error(fixture("huge_dims.png")),
             Catch::Contains("too large") && Catch::Contains("100000 x 100000") && Catch::Contains("huge_dims.png"));
  // 8 MB of inflated rows for a 16 x 16 image: stb's allocations are capped near the decoded size.
  CHECK_THAT(load_error(fixture("zlib_bomb.png")), Catch::Contains("zlib_bomb.png") && Catch::Contains("outofmem"));
  // A PNG chunk that claims more bytes than the file holds (found by the fuzzer: stb reallocated 2 GB for it).
  CHECK_THAT(load_error(std::string(FASTPP_SOURCE_DIR) + "/fuzz/corpus/decode/idat_claims_2gb.png"),
             Catch::Contains("more than the file holds"));
  DecodeOptions tight;
  tight.limits.max_pixels = 64 * 47;
  CHECK_THAT(load_error(fixture("photo.png"), tight), Catch::Contains("max_pixels") && Catch::Contains("3072"));
  tight.limits = DecodeLimits{};
  tight.limits.max_side = 63;
  CHECK_THAT(load_error(fixture("photo.png"), tight), Catch::Contains("max_side"));
  tight.limits = DecodeLimits{};
  tight.limits.max_file_bytes = 100;
  CHECK_THAT(load_error(fixture("photo.png"), tight), Catch::Contains("too large"));
}

TEST_CASE("decode_image names the buffer in errors and survives every prefix of a file", "[vision][decode]") {
  const auto png = read_file_bytes(fixture("photo.png"));
  const auto jpg = read_file_bytes(fixture("photo.jpg"));
  CHECK_THROWS_WITH(decode_image(png.data(), 0, "buffer-7"), Catch::Contains("buffer-7"));
  // Every truncation either decodes (never past the end: ASan checks) or throws FormatError.
  int refused = 0;
  for (const auto* bytes : {&png, &jpg})
    for (std::size_t n = 0; n < bytes->size(); n += 37) {
      try {
        (void)decode_image(bytes->data(), n, "prefix");
      } catch (const FormatError&) {
        ++refused;
      }
    }
  CHECK(refused > 0);
}

TEST_CASE("encode_png round-trips through the decoder", "[vision][decode]") {
  const Image img = load_image(fixture("photo.png"));
  const auto bytes = encode_png(img);
  const Image back = decode_image(bytes, "roundtrip");
  CHECK(vtest::max_abs_diff_u8(img, back) == 0);
  const auto dir = std::filesystem::temp_directory_path() / "fastpp_vision_png_test";
  std::filesystem::create_directories(dir);
  save_png(img, dir / "x.png");
  CHECK(vtest::max_abs_diff_u8(load_image(dir / "x.png"), img) == 0);
  std::filesystem::remove_all(dir);
}

#if defined(FASTPP_HAVE_TURBOJPEG) && FASTPP_HAVE_TURBOJPEG
TEST_CASE("libjpeg-turbo and stb_image decode the same JPEG to nearly the same pixels", "[vision][decode]") {
  STATIC_REQUIRE(turbojpeg_available());
  const Image tj = load_image(fixture("photo.jpg"));
  const Image stb = load_image(fixture("photo.jpg"), DecodeOptions{.jpeg = JpegDecoder::stb});
  REQUIRE(tj.shape() == stb.shape());
  double err = 0;
  for (std::int64_t i = 0; i < tj.numel(); ++i) err += std::abs(int(tj.data()[i]) - int(stb.data()[i]));
  CHECK(err / double(tj.numel()) < 1.5);  // IDCT and chroma upsampling differ slightly
  CHECK_THAT(load_error(fixture("corrupt.jpg")), Catch::Contains("corrupt.jpg"));
  CHECK_THAT(load_error(fixture("truncated.jpg")), Catch::Contains("truncated"));
}
#endif

TEST_CASE("every file of the fuzzer's corpus decodes or is refused with a FormatError", "[vision][decode]") {
  // The corpus holds the fuzzer's findings (e.g. empty_idat.png, huffman_overflow.jpg); under the sanitizer
  // build this replays them through stb with ASan and UBSan watching.
  int files = 0, decoded = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(FASTPP_SOURCE_DIR) + "/fuzz/corpus/decode")) {
    const auto bytes = read_file_bytes(e.path());
    ++files;
    try {
      const Image img = decode_image(bytes, e.path().string());
      CHECK(img.numel() > 0);
      ++decoded;
    } catch (const FormatError& err) {
      CHECK(std::string(err.what()).find(e.path().filename().string()) != std::string::npos);
    }
  }
  CHECK(files >= 8);
  CHECK(decoded >= 4);
}
