// Issue 18, "Bad files": images that stb_image would decode into mostly black pictures (truncated BMPs), a PNG
// whose refusal named another format's probe, and a FIFO that made load_image block forever.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include <fastpp/vision/image.hpp>

using namespace fastpp;

namespace {

void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  b[at] = static_cast<std::uint8_t>(v), b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}
void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  put16(b, at, v & 0xFFFF), put16(b, at + 2, v >> 16);
}

// A 24-bit bottom-up BMP (BITMAPINFOHEADER) of w x h whose header claims w x h but which holds only
// `rows_present` rows of pixel data (all of them when rows_present == h). Pixels are non-zero so a decoder
// that fills missing rows with black is visibly wrong.
std::vector<std::uint8_t> bmp24(std::uint32_t w, std::uint32_t h, std::uint32_t rows_present) {
  const std::uint32_t stride = (w * 3 + 3) / 4 * 4;
  std::vector<std::uint8_t> b(54 + std::size_t{stride} * rows_present, 0);
  b[0] = 'B', b[1] = 'M';
  put32(b, 2, static_cast<std::uint32_t>(54 + std::size_t{stride} * h));
  put32(b, 10, 54);
  put32(b, 14, 40);
  put32(b, 18, w), put32(b, 22, h);
  put16(b, 26, 1), put16(b, 28, 24);
  put32(b, 34, stride * h);
  for (std::size_t i = 54; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(100 + i % 50);
  return b;
}

std::string decode_error(const std::vector<std::uint8_t>& bytes, const std::string& name) {
  try {
    decode_image(bytes, name);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "(decoded without error)";
}

std::filesystem::path scratch(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("fastpp_harden_vision_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}

}  // namespace

TEST_CASE("a complete BMP still decodes (the truncation check counts its bytes right)", "[vision][bad_files]") {
  for (std::uint32_t w : {1u, 2u, 3u, 5u, 16u}) {
    const Image img = decode_image(bmp24(w, 7, 7), "whole.bmp");
    CHECK(img.shape() == Shape{7, static_cast<std::int64_t>(w), 3});
  }
}

TEST_CASE("a BMP whose pixel data ends early is refused, naming the file", "[vision][bad_files]") {
  const auto half = bmp24(16, 12, 6);  // half the rows missing
  CHECK_THAT(decode_error(half, "half_rows.bmp"), Catch::Contains("half_rows.bmp") && Catch::Contains("truncated BMP"));
  // One byte short of the last row is still short.
  auto almost = bmp24(16, 12, 12);
  almost.pop_back();
  CHECK_THAT(decode_error(almost, "one_byte_short.bmp"), Catch::Contains("truncated BMP"));
}

TEST_CASE("a 1.7 KB BMP whose header claims 4000 x 4000 is refused, not decoded into 48 MB of black",
          "[vision][bad_files]") {
  auto bytes = bmp24(24, 24, 24);  // 54 + 72 * 24 = 1782 bytes
  REQUIRE(bytes.size() < 1800);
  put32(bytes, 18, 4000), put32(bytes, 22, 4000);
  const std::string err = decode_error(bytes, "claims_4000.bmp");
  CHECK_THAT(err, Catch::Contains("claims_4000.bmp") && Catch::Contains("truncated BMP") &&
                      Catch::Contains("48000054") && Catch::Contains("1782"));
}

TEST_CASE("a PNG with a corrupt zlib stream is refused with the reason that failed, not another format's",
          "[vision][bad_files]") {
  Image img = Image::empty(Shape{8, 8, 3});
  for (std::int64_t i = 0; i < img.numel(); ++i) img.data()[i] = static_cast<std::uint8_t>(i * 7);
  auto png = encode_png(img);
  // The first IDAT's data: 2 bytes of zlib header, then the first deflate block header. Block type 3 is
  // reserved (invalid): stb's inflater returns failure without setting a reason of its own.
  std::size_t idat = 0;
  for (std::size_t i = 8; i + 8 < png.size(); ++i)
    if (std::memcmp(png.data() + i, "IDAT", 4) == 0) {
      idat = i + 4;
      break;
    }
  REQUIRE(idat > 0);
  png[idat + 2] = 0x07;  // BFINAL = 1, BTYPE = 11
  const std::string err = decode_error(png, "bad_stream.png");
  CHECK_THAT(err, Catch::Contains("bad_stream.png") && Catch::Contains("zlib"));
  CHECK_THAT(err, !Catch::Contains("SOI"));
  // The reason does not leak from one failed decode into the next one on the same thread either.
  (void)decode_error(std::vector<std::uint8_t>{0xFF, 0xD8, 0xFF, 0xD9}, "tiny.jpg");
  CHECK_THAT(decode_error(png, "bad_stream.png"), Catch::Contains("zlib") && !Catch::Contains("SOI"));
}

TEST_CASE("load_image on a FIFO is refused at once instead of waiting for a writer", "[vision][bad_files]") {
  const auto fifo = scratch("pipe.png");
  std::filesystem::remove(fifo);
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto result = std::async(std::launch::async, [&]() -> std::string {
    try {
      load_image(fifo);
    } catch (const IoError& e) {
      return e.what();
    } catch (const std::exception& e) {
      return std::string("other exception: ") + e.what();
    }
    return "(loaded)";
  });
  const bool finished = result.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  if (!finished) {  // unblock the reader so the test can end: open the write side and close it
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
  }
  const std::string err = result.get();
  std::filesystem::remove(fifo);
  CHECK(finished);
  CHECK_THAT(err, Catch::Contains("FIFO") && Catch::Contains(fifo.string()));
}
