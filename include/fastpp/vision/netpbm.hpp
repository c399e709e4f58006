#pragma once
// Binary PGM/PPM (netpbm P5/P6) read and write: the small, dependency-free image format the data
// tests write their folders in (use it with ImageBlock{.load = load_netpbm}; vision's load_image, the
// default, reads JPEG/PNG/BMP only). Untrusted bytes: every read is bounds-checked, and
// an image claiming more than max_pixels is refused before anything is allocated.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "transform.hpp"

namespace fastpp {

namespace detail {

inline std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError(path.string(), "cannot open the file");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw IoError(path.string(), "reading the file failed");
  return bytes;
}

class PnmHeaderReader {
 public:
  PnmHeaderReader(const std::vector<std::uint8_t>& b, const std::string& name) : b_(b), name_(name) {}
  std::size_t pos = 0;

  void skip_space_and_comments() {
    while (pos < b_.size()) {
      if (b_[pos] == '#') {
        while (pos < b_.size() && b_[pos] != '\n') ++pos;
      } else if (b_[pos] == ' ' || b_[pos] == '\t' || b_[pos] == '\n' || b_[pos] == '\r') {
        ++pos;
      } else {
        return;
      }
    }
  }
  std::int64_t number(const char* what) {
    skip_space_and_comments();
    std::int64_t v = 0;
    std::size_t digits = 0;
    while (pos < b_.size() && b_[pos] >= '0' && b_[pos] <= '9') {
      if (++digits > 9) throw FormatError(name_, std::string("PGM/PPM header: the ") + what + " has too many digits");
      v = v * 10 + (b_[pos++] - '0');
    }
    if (digits == 0)
      throw FormatError(name_, std::string("PGM/PPM header: the ") + what +
                                   (pos >= b_.size() ? " is missing (the file ends early)" : " is not a number"));
    return v;
  }

 private:
  const std::vector<std::uint8_t>& b_;
  const std::string& name_;
};

}  // namespace detail

// Images larger than this many pixels are refused before decoding (a corrupt header would otherwise
// ask for gigabytes).
inline constexpr std::int64_t netpbm_max_pixels = std::int64_t{1} << 28;

// Decodes P5 (grey) or P6 (RGB) bytes to an RGB Image [H, W, 3]; `name` is used in errors.
inline Image decode_netpbm(const std::vector<std::uint8_t>& b, const std::string& name) {
  if (b.empty()) throw FormatError(name, "the file is empty (0 bytes)");
  if (b.size() < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '6'))
    throw FormatError(name, "not a binary PGM/PPM image (it does not start with P5 or P6)");
  const int channels = b[1] == '6' ? 3 : 1;
  detail::PnmHeaderReader r(b, name);
  r.pos = 2;
  const std::int64_t w = r.number("width"), h = r.number("height"), maxval = r.number("maximum value");
  if (w < 1 || h < 1) throw FormatError(name, detail::msg("PGM/PPM header: the image is ", w, "x", h));
  if (w * h > netpbm_max_pixels)
    throw FormatError(name, detail::msg("PGM/PPM header: ", w, "x", h, " pixels is above the limit of ", netpbm_max_pixels));
  if (maxval < 1 || maxval > 65535)
    throw FormatError(name, detail::msg("PGM/PPM header: maximum value ", maxval, " is not in 1..65535"));
  if (r.pos >= b.size()) throw FormatError(name, "PGM/PPM: the file ends after the header (truncated)");
  ++r.pos;  // the single whitespace byte after maxval
  const std::int64_t bytes_per_sample = maxval > 255 ? 2 : 1;
  const std::int64_t need = w * h * channels * bytes_per_sample;
  const auto have = static_cast<std::int64_t>(b.size() - r.pos);
  if (have < need)
    throw FormatError(name, detail::msg("PGM/PPM: truncated, ", have, " bytes of pixels where ", need, " are needed"));
  Image img = Image::empty({h, w, 3});
  const std::uint8_t* src = b.data() + r.pos;
  std::uint8_t* dst = img.data();
  const std::int64_t n = w * h;
  for (std::int64_t i = 0; i < n; ++i) {
    for (int c = 0; c < 3; ++c) {
      const std::int64_t s = i * channels + (channels == 3 ? c : 0);
      std::int64_t v = bytes_per_sample == 2 ? (src[2 * s] << 8) | src[2 * s + 1] : src[s];
      if (v > maxval) v = maxval;
      dst[i * 3 + c] = static_cast<std::uint8_t>(maxval == 255 ? v : (v * 255 + maxval / 2) / maxval);
    }
  }
  return img;
}

inline Image load_netpbm(const std::filesystem::path& path) {
  return decode_netpbm(detail::read_file_bytes(path), path.string());
}

// Writes an RGB Image [H, W, 3] as a binary PPM (P6).
inline void save_ppm(const std::filesystem::path& path, const Image& img) {
  check<ShapeError>(img.rank() == 3 && img.size(2) == 3, "save_ppm: an image is [H, W, 3], got ", img.shape());
  std::ofstream f(path, std::ios::binary);
  if (!f) throw IoError(path.string(), "cannot create the file");
  f << "P6\n" << img.size(1) << ' ' << img.size(0) << "\n255\n";
  f.write(reinterpret_cast<const char*>(img.data()), static_cast<std::streamsize>(img.numel()));
  if (!f) throw IoError(path.string(), "writing the file failed");
}

}  // namespace fastpp
