#pragma once
// Fashion-MNIST for the end-to-end tests: Debian's dataset-fashion-mnist IDX files, decompressed with the
// gzip command, the first n images written as PGM files in GrandparentSplitter's layout
// (<root>/train/<class>/<i>.pgm, <root>/valid/<class>/<i>.pgm), and the DataBlock that reads them.
#include <fastpp/learner.hpp>
#include <fastpp/vision/augment.hpp>
#include <fastpp/vision/netpbm.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../data/helpers.hpp"

namespace fastpp::test {

inline const fs::path fashion_dir = "/usr/share/datasets/fashion-mnist";

inline bool have_fashion_mnist() {
  for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                        "t10k-labels-idx1-ubyte.gz"})
    if (!fs::exists(fashion_dir / f)) return false;
  return true;
}

// The dataset's class names, in label order (the folder names; CategoryBlock sorts its vocabulary).
inline const char* const fashion_classes[10] = {"t_shirt", "trouser", "pullover", "dress", "coat",
                                                "sandal",  "shirt",   "sneaker",  "bag",   "ankle_boot"};

struct IdxFile {
  std::vector<std::uint32_t> dims;  // [count] for labels, [count, rows, cols] for images
  std::vector<std::uint8_t> bytes;  // the first items' data, after the header
};

// The first `n` bytes of a gzip file, through the gzip command (head stops it early: the training images
// are 47 MB decompressed, of which the tests read 1.6).
inline std::vector<std::uint8_t> gunzip_prefix(const fs::path& gz, const fs::path& tmp, std::size_t n) {
  const fs::path raw = tmp / gz.stem();
  const std::string cmd = "gzip -dc '" + gz.string() + "' | head -c " + std::to_string(n) + " > '" + raw.string() + "'";
  if (std::system(cmd.c_str()) != 0) throw IoError(gz.string(), "gzip -dc failed");
  std::ifstream in(raw, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The first `count` items of an IDX file of unsigned bytes: big-endian magic 0x000008<rank>, the rank's
// dimensions (the first one the item count), then the items.
inline IdxFile read_idx_gz(const fs::path& gz, const fs::path& tmp, std::size_t count) {
  std::vector<std::uint8_t> b = gunzip_prefix(gz, tmp, 4 + 4 * 3);
  auto be32 = [&](std::size_t at) {
    if (at + 4 > b.size()) throw FormatError(gz.string(), "truncated IDX header");
    return std::uint32_t{b[at]} << 24 | std::uint32_t{b[at + 1]} << 16 | std::uint32_t{b[at + 2]} << 8 | b[at + 3];
  };
  const std::uint32_t magic = be32(0);
  if ((magic >> 8) != 0x08 || (magic & 0xff) < 1 || (magic & 0xff) > 3)
    throw FormatError(gz.string(), "not an IDX file of unsigned bytes of rank 1 to 3 (magic " + std::to_string(magic) + ")");
  IdxFile f;
  std::size_t item = 1;
  for (std::uint32_t d = 0; d < (magic & 0xff); ++d) {
    f.dims.push_back(be32(4 + 4 * d));
    if (d > 0) item *= f.dims.back();
  }
  if (f.dims[0] < count)
    throw FormatError(gz.string(), "holds " + std::to_string(f.dims[0]) + " items, fewer than " + std::to_string(count));
  const std::size_t header = 4 + 4 * f.dims.size(), want = header + count * item;
  b = gunzip_prefix(gz, tmp, want);
  if (b.size() != want) throw FormatError(gz.string(), "truncated: " + std::to_string(count) + " items need " +
                                                           std::to_string(want) + " bytes, got " + std::to_string(b.size()));
  f.bytes.assign(b.begin() + static_cast<std::ptrdiff_t>(header), b.end());
  return f;
}

// Writes the first `count` images of one split of the dataset ("train" or "t10k") as <root>/<folder>/<class>/<i>.pgm.
inline void write_fashion_split(const fs::path& root, const std::string& split, const std::string& folder,
                                std::size_t count) {
  const fs::path tmp = root / ("idx_" + split);
  fs::create_directories(tmp);
  const IdxFile images = read_idx_gz(fashion_dir / (split + "-images-idx3-ubyte.gz"), tmp, count);
  const IdxFile labels = read_idx_gz(fashion_dir / (split + "-labels-idx1-ubyte.gz"), tmp, count);
  check<ValueError>(images.dims.size() == 3 && labels.dims.size() == 1 && images.dims[0] == labels.dims[0],
                    "Fashion-MNIST ", split, ": the image and label files do not match");
  const std::size_t h = images.dims[1], w = images.dims[2];
  for (const char* c : fashion_classes) fs::create_directories(root / folder / c);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t label = labels.bytes[i];
    check<ValueError>(label < 10, "Fashion-MNIST ", split, ": label ", int{label}, " of item ", i, " is not a class");
    std::ofstream out(root / folder / fashion_classes[label] / (std::to_string(i) + ".pgm"), std::ios::binary);
    out << "P5\n" << w << ' ' << h << "\n255\n";
    out.write(reinterpret_cast<const char*>(images.bytes.data() + i * h * w), static_cast<std::streamsize>(h * w));
  }
  fs::remove_all(tmp);
}

// Grey images (read as RGB by load_netpbm), normalised with Fashion-MNIST's pixel mean and std.
inline auto fashion_block() {
  const Normalize norm{{0.2860f, 0.2860f, 0.2860f}, {0.3530f, 0.3530f, 0.3530f}};
  return DataBlock{Blocks{ImageBlock{.load = load_netpbm}, CategoryBlock{}}, get_image_files, GrandparentSplitter{},
                   parent_label, batch_tfms(norm)};
}

}  // namespace fastpp::test
