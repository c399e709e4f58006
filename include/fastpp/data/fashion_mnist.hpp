#pragma once
// Fashion-MNIST as a folder of PNG files, so the chapter's recipe runs on real images unchanged:
//
//   <out>/train/<Class>/<Class>_<n>.png   (the official 60000 training images)
//   <out>/valid/<Class>/<Class>_<n>.png   (the official 10000 test images)
//
// <n> is the image's index in its IDX file; class names are made safe for file names ("T-shirt/top" ->
// "T-shirt_top", spaces -> '_'), so RegexLabeller(R"((.+)_\d+.png$)") on the file name gives the class
// and GrandparentSplitter gives the split. Reads Debian's dataset-fashion-mnist
// (/usr/share/datasets/fashion-mnist/*-idx?-ubyte.gz). The .gz files are read with zlib when the
// program defines FASTPP_HAVE_ZLIB and links zlib, else through the `gzip -dc` command. The PNGs are
// written by a small writer of our own (grey, 8 bits, stored deflate blocks: no compression library).
#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../core/error.hpp"

#if defined(FASTPP_HAVE_ZLIB)
#include <zlib.h>
#endif

namespace fastpp {

inline const std::filesystem::path fashion_mnist_debian_dir = "/usr/share/datasets/fashion-mnist";

inline const std::array<std::string, 10>& fashion_mnist_classes() {
  static const std::array<std::string, 10> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

// "T-shirt/top" -> "T-shirt_top", "Ankle boot" -> "Ankle_boot": '/', '\\' and spaces become '_'.
inline std::string file_safe_name(std::string s) {
  for (char& c : s)
    if (c == '/' || c == '\\' || c == ' ') c = '_';
  return s;
}

// ---- gzip ----------------------------------------------------------------------------------------------

// Decompresses a .gz file by running `gzip -dc` (POSIX popen); needs no library.
inline std::vector<std::uint8_t> read_gzip_with_tool(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) throw IoError(path.string(), "no such file");
  std::string quoted = "'";
  for (char c : path.string()) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  const std::string cmd = "gzip -dc -- " + quoted + " 2>/dev/null";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) throw IoError(path.string(), "cannot run gzip to decompress the file");
  std::vector<std::uint8_t> out;
  std::array<std::uint8_t, 1 << 16> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.insert(out.end(), buf.begin(), buf.begin() + n);
  const int status = ::pclose(pipe);
  if (status != 0) throw FormatError(path.string(), "gzip -dc failed (not a gzip file, or truncated)");
  return out;
}

#if defined(FASTPP_HAVE_ZLIB)
// Decompresses a .gz file with zlib.
inline std::vector<std::uint8_t> read_gzip_with_zlib(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) throw IoError(path.string(), "no such file");
  gzFile f = gzopen(path.string().c_str(), "rb");
  if (!f) throw IoError(path.string(), "cannot open the file");
  std::vector<std::uint8_t> out;
  std::array<std::uint8_t, 1 << 16> buf;
  for (;;) {
    const int n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int err = 0;
      const std::string what = gzerror(f, &err);
      gzclose(f);
      throw FormatError(path.string(), "gzip: " + what);
    }
    if (n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + n);
  }
  // gzread stops quietly at a truncated stream: gzclose reports it.
  if (gzclose(f) != Z_OK) throw FormatError(path.string(), "gzip: the file is truncated or corrupt");
  return out;
}
#endif

inline std::vector<std::uint8_t> read_gzip(const std::filesystem::path& path) {
#if defined(FASTPP_HAVE_ZLIB)
  return read_gzip_with_zlib(path);
#else
  return read_gzip_with_tool(path);
#endif
}

// ---- IDX (the MNIST container) ---------------------------------------------------------------------

struct IdxImages {
  std::int64_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // count * rows * cols, row-major
};

namespace detail {
inline std::uint32_t be32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}
}  // namespace detail

inline IdxImages parse_idx_images(const std::vector<std::uint8_t>& b, const std::string& name) {
  if (b.size() < 16) throw FormatError(name, "IDX images: the file is shorter than its 16-byte header");
  if (detail::be32(b, 0) != 0x00000803u) throw FormatError(name, "IDX images: wrong magic number (want 0x00000803)");
  IdxImages im;
  im.count = detail::be32(b, 4);
  im.rows = detail::be32(b, 8);
  im.cols = detail::be32(b, 12);
  if (im.rows < 1 || im.cols < 1 || im.rows > 4096 || im.cols > 4096)
    throw FormatError(name, detail::msg("IDX images: ", im.rows, "x", im.cols, " is not a plausible image size"));
  const std::int64_t need = im.count * im.rows * im.cols;
  if (static_cast<std::int64_t>(b.size()) - 16 != need)
    throw FormatError(name, detail::msg("IDX images: ", b.size() - 16, " bytes of pixels where the header announces ",
                                        need, " (", im.count, " images)"));
  im.pixels.assign(b.begin() + 16, b.end());
  return im;
}

inline std::vector<std::uint8_t> parse_idx_labels(const std::vector<std::uint8_t>& b, const std::string& name) {
  if (b.size() < 8) throw FormatError(name, "IDX labels: the file is shorter than its 8-byte header");
  if (detail::be32(b, 0) != 0x00000801u) throw FormatError(name, "IDX labels: wrong magic number (want 0x00000801)");
  const std::int64_t count = detail::be32(b, 4);
  if (static_cast<std::int64_t>(b.size()) - 8 != count)
    throw FormatError(name, detail::msg("IDX labels: ", b.size() - 8, " labels where the header announces ", count));
  return {b.begin() + 8, b.end()};
}

// ---- PNG writer --------------------------------------------------------------------------------------

namespace detail {
inline std::uint32_t crc32(const std::uint8_t* p, std::size_t n, std::uint32_t crc = 0) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}
inline void put_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}
inline void png_chunk(std::vector<std::uint8_t>& out, const char* type, const std::vector<std::uint8_t>& data) {
  put_be32(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put_be32(out, crc32(out.data() + start, out.size() - start));
}
}  // namespace detail

// The bytes of an 8-bit PNG (grey when channels == 1, RGB when 3) holding h x w pixels, row-major.
inline std::vector<std::uint8_t> encode_png_uncompressed(const std::uint8_t* pixels, std::int64_t h, std::int64_t w, int channels) {
  check(channels == 1 || channels == 3, "encode_png_uncompressed: 1 or 3 channels, got ", channels);
  check(h >= 1 && w >= 1 && h < (1 << 24) && w < (1 << 24), "encode_png_uncompressed: bad size ", h, "x", w);
  // Raw scanlines, each led by filter type 0 (none).
  std::vector<std::uint8_t> raw;
  const std::size_t row = static_cast<std::size_t>(w * channels);
  raw.reserve(static_cast<std::size_t>(h) * (row + 1));
  for (std::int64_t y = 0; y < h; ++y) {
    raw.push_back(0);
    raw.insert(raw.end(), pixels + static_cast<std::size_t>(y) * row, pixels + static_cast<std::size_t>(y + 1) * row);
  }
  // A zlib stream of stored (uncompressed) deflate blocks of at most 65535 bytes, then Adler-32.
  std::vector<std::uint8_t> z{0x78, 0x01};
  for (std::size_t at = 0; at < raw.size() || at == 0; at += 65535) {
    const std::size_t len = std::min<std::size_t>(65535, raw.size() - at);
    const bool last = at + len >= raw.size();
    z.push_back(last ? 1 : 0);
    z.push_back(static_cast<std::uint8_t>(len));
    z.push_back(static_cast<std::uint8_t>(len >> 8));
    z.push_back(static_cast<std::uint8_t>(~len));
    z.push_back(static_cast<std::uint8_t>(~len >> 8));
    z.insert(z.end(), raw.begin() + static_cast<std::ptrdiff_t>(at), raw.begin() + static_cast<std::ptrdiff_t>(at + len));
    if (last) break;
  }
  std::uint32_t a = 1, b = 0;
  for (std::uint8_t v : raw) {
    a = (a + v) % 65521u;
    b = (b + a) % 65521u;
  }
  detail::put_be32(z, (b << 16) | a);

  std::vector<std::uint8_t> png{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<std::uint8_t> ihdr;
  detail::put_be32(ihdr, static_cast<std::uint32_t>(w));
  detail::put_be32(ihdr, static_cast<std::uint32_t>(h));
  ihdr.insert(ihdr.end(), {8, static_cast<std::uint8_t>(channels == 1 ? 0 : 2), 0, 0, 0});
  detail::png_chunk(png, "IHDR", ihdr);
  detail::png_chunk(png, "IDAT", z);
  detail::png_chunk(png, "IEND", {});
  return png;
}

inline void write_png_uncompressed(const std::filesystem::path& path, const std::uint8_t* pixels, std::int64_t h, std::int64_t w,
                      int channels) {
  const auto bytes = encode_png_uncompressed(pixels, h, w, channels);
  std::ofstream f(path, std::ios::binary);
  if (!f) throw IoError(path.string(), "cannot create the file");
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw IoError(path.string(), "writing the file failed");
}

// ---- the export ------------------------------------------------------------------------------------

struct FashionExportOptions {
  std::int64_t limit_per_class = -1;  // at most this many images of each class per split; -1: all
};

struct FashionExportCounts {
  std::int64_t train = 0, valid = 0;
};

// Writes the train (60k) and test (10k, as valid/) splits of the IDX files in src as PNGs under out.
inline FashionExportCounts export_fashion_mnist(const std::filesystem::path& src, const std::filesystem::path& out,
                                                const FashionExportOptions& opts = {}) {
  FashionExportCounts counts;
  const struct {
    const char* prefix;
    const char* split;
    std::int64_t* count;
  } parts[] = {{"train", "train", &counts.train}, {"t10k", "valid", &counts.valid}};
  for (const auto& part : parts) {
    const auto img_path = src / (std::string(part.prefix) + "-images-idx3-ubyte.gz");
    const auto lbl_path = src / (std::string(part.prefix) + "-labels-idx1-ubyte.gz");
    const IdxImages images = parse_idx_images(read_gzip(img_path), img_path.string());
    const std::vector<std::uint8_t> labels = parse_idx_labels(read_gzip(lbl_path), lbl_path.string());
    if (static_cast<std::int64_t>(labels.size()) != images.count)
      throw FormatError(lbl_path.string(), detail::msg(labels.size(), " labels for ", images.count, " images in ",
                                                       img_path.string()));
    std::array<std::int64_t, 10> written{};
    const std::int64_t per = images.rows * images.cols;
    for (std::int64_t i = 0; i < images.count; ++i) {
      const std::uint8_t c = labels[static_cast<std::size_t>(i)];
      if (c >= 10) throw FormatError(lbl_path.string(), detail::msg("label ", int{c}, " of image ", i, " is not in 0..9"));
      if (opts.limit_per_class >= 0 && written[c] >= opts.limit_per_class) continue;
      const std::string cls = file_safe_name(fashion_mnist_classes()[c]);
      const auto dir = out / part.split / cls;
      if (written[c] == 0) std::filesystem::create_directories(dir);
      write_png_uncompressed(dir / (cls + "_" + std::to_string(i) + ".png"), images.pixels.data() + i * per, images.rows, images.cols, 1);
      ++written[c];
      ++*part.count;
    }
  }
  return counts;
}

}  // namespace fastpp
