// Writes Debian's dataset-fashion-mnist as a folder of PNGs for the chapter's recipe:
//   <out>/train/<Class>/<Class>_<n>.png (60000) and <out>/valid/<Class>/<Class>_<n>.png (10000).
//
//   export_fashion_mnist [--src DIR] [--out DIR] [--limit N]
//     --src    the IDX .gz files (default /usr/share/datasets/fashion-mnist; apt install dataset-fashion-mnist)
//     --out    where to write (default data/fashion, which git ignores)
//     --limit  at most N images of each class per split (a small subset for quick runs)
//
// <n> is the image's index in its IDX file; class names are made safe for file names ("T-shirt/top" ->
// "T-shirt_top", spaces -> '_'), so RegexLabeller(R"((.+)_\d+.png$)") on the file name gives the class and
// GrandparentSplitter gives the split. The .gz files are read with zlib when this program is built with
// FASTPP_HAVE_ZLIB (examples/CMakeLists.txt does where zlib is found), else through the `gzip -dc` command.
// The PNGs (8-bit grey) are written by vision's encoder, save_png. Every malformed input is an error that
// names the file and what is wrong with it (tests/data/test_fashion.cpp runs this program on such files).
#include <fastpp/vision/image.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#if defined(FASTPP_HAVE_ZLIB)
#include <zlib.h>
#endif

namespace {

namespace fs = std::filesystem;
using fastpp::FormatError;
using fastpp::IoError;
using Bytes = std::vector<std::uint8_t>;

const std::array<std::string, 10> class_names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// "T-shirt/top" -> "T-shirt_top", "Ankle boot" -> "Ankle_boot".
std::string file_safe_name(std::string s) {
  for (char& c : s)
    if (c == '/' || c == '\\' || c == ' ') c = '_';
  return s;
}

// ---- gzip ----

#if defined(FASTPP_HAVE_ZLIB)
Bytes read_gzip(const fs::path& path) {
  if (!fs::is_regular_file(path)) throw IoError(path.string(), "no such file");
  gzFile f = gzopen(path.string().c_str(), "rb");
  if (!f) throw IoError(path.string(), "cannot open the file");
  Bytes out;
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
#else
// Runs `gzip -dc` (POSIX popen): no library needed.
Bytes read_gzip(const fs::path& path) {
  if (!fs::is_regular_file(path)) throw IoError(path.string(), "no such file");
  std::string quoted = "'";
  for (char c : path.string()) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  FILE* pipe = ::popen(("gzip -dc -- " + quoted + " 2>/dev/null").c_str(), "r");
  if (!pipe) throw IoError(path.string(), "cannot run gzip to decompress the file");
  Bytes out;
  std::array<std::uint8_t, 1 << 16> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.insert(out.end(), buf.begin(), buf.begin() + n);
  if (::pclose(pipe) != 0) throw FormatError(path.string(), "gzip -dc failed (not a gzip file, or truncated)");
  return out;
}
#endif

// ---- IDX, the MNIST container: a big-endian header, then the bytes ----

std::uint32_t be32(const Bytes& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}

struct IdxImages {
  std::int64_t count = 0, rows = 0, cols = 0;
  Bytes pixels;  // count * rows * cols, row-major
};

IdxImages parse_idx_images(const Bytes& b, const std::string& name) {
  if (b.size() < 16) throw FormatError(name, "IDX images: the file is shorter than its 16-byte header");
  if (be32(b, 0) != 0x00000803u) throw FormatError(name, "IDX images: wrong magic number (want 0x00000803)");
  IdxImages im;
  im.count = be32(b, 4);
  im.rows = be32(b, 8);
  im.cols = be32(b, 12);
  if (im.rows < 1 || im.cols < 1 || im.rows > 4096 || im.cols > 4096)
    throw FormatError(name, "IDX images: " + std::to_string(im.rows) + "x" + std::to_string(im.cols) +
                                " is not a plausible image size");
  const std::int64_t need = im.count * im.rows * im.cols;
  if (static_cast<std::int64_t>(b.size()) - 16 != need)
    throw FormatError(name, "IDX images: " + std::to_string(b.size() - 16) + " bytes of pixels where the header announces " +
                                std::to_string(need) + " (" + std::to_string(im.count) + " images)");
  im.pixels.assign(b.begin() + 16, b.end());
  return im;
}

Bytes parse_idx_labels(const Bytes& b, const std::string& name) {
  if (b.size() < 8) throw FormatError(name, "IDX labels: the file is shorter than its 8-byte header");
  if (be32(b, 0) != 0x00000801u) throw FormatError(name, "IDX labels: wrong magic number (want 0x00000801)");
  const std::int64_t count = be32(b, 4);
  if (static_cast<std::int64_t>(b.size()) - 8 != count)
    throw FormatError(name, "IDX labels: " + std::to_string(b.size() - 8) + " labels where the header announces " +
                                std::to_string(count));
  return {b.begin() + 8, b.end()};
}

// ---- the export ----

struct Counts {
  std::int64_t train = 0, valid = 0;
};

// Writes the train split (IDX prefix "train") and the test split ("t10k", as valid/) of src under out.
Counts export_fashion_mnist(const fs::path& src, const fs::path& out, std::int64_t limit_per_class) {
  Counts counts;
  const struct {
    const char* prefix;
    const char* split;
    std::int64_t* count;
  } parts[] = {{"train", "train", &counts.train}, {"t10k", "valid", &counts.valid}};
  for (const auto& part : parts) {
    const auto img_path = src / (std::string(part.prefix) + "-images-idx3-ubyte.gz");
    const auto lbl_path = src / (std::string(part.prefix) + "-labels-idx1-ubyte.gz");
    const IdxImages images = parse_idx_images(read_gzip(img_path), img_path.string());
    const Bytes labels = parse_idx_labels(read_gzip(lbl_path), lbl_path.string());
    if (static_cast<std::int64_t>(labels.size()) != images.count)
      throw FormatError(lbl_path.string(), std::to_string(labels.size()) + " labels for " +
                                               std::to_string(images.count) + " images in " + img_path.string());
    std::array<std::int64_t, 10> written{};
    const std::int64_t per = images.rows * images.cols;
    for (std::int64_t i = 0; i < images.count; ++i) {
      const std::uint8_t c = labels[static_cast<std::size_t>(i)];
      if (c >= 10)
        throw FormatError(lbl_path.string(),
                          "label " + std::to_string(int{c}) + " of image " + std::to_string(i) + " is not in 0..9");
      if (limit_per_class >= 0 && written[c] >= limit_per_class) continue;
      const std::string cls = file_safe_name(class_names[c]);
      const auto dir = out / part.split / cls;
      if (written[c] == 0) fs::create_directories(dir);
      auto grey = fastpp::Tensor<std::uint8_t>::empty({images.rows, images.cols});
      std::copy(images.pixels.begin() + i * per, images.pixels.begin() + (i + 1) * per, grey.data());
      fastpp::save_png(grey, dir / (cls + "_" + std::to_string(i) + ".png"));
      ++written[c];
      ++*part.count;
    }
  }
  return counts;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path src = "/usr/share/datasets/fashion-mnist", out = "data/fashion";
  std::int64_t limit = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--src" && has_value) src = argv[++i];
    else if (a == "--out" && has_value) out = argv[++i];
    else if (a == "--limit" && has_value) limit = std::atoll(argv[++i]);
    else {
      std::cerr << "usage: " << argv[0] << " [--src DIR] [--out DIR] [--limit N]\n";
      return 2;
    }
  }
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const Counts counts = export_fashion_mnist(src, out, limit);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "wrote " << counts.train << " train and " << counts.valid << " valid images to " << out.string()
              << " in " << s << " s\n";
  } catch (const std::exception& e) {
    std::cerr << "export_fashion_mnist: " << e.what() << '\n';
    if (!fs::exists(src)) std::cerr << "(the dataset is Debian's dataset-fashion-mnist: apt install dataset-fashion-mnist)\n";
    return 1;
  }
  return 0;
}
