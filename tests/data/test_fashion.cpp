// Fashion-MNIST as PNG folders: the exporter program (examples/export_fashion_mnist.cpp, no longer part of
// the library) run on small IDX files made here and on bad ones, and the chapter's recipe on a subset of
// the real dataset, written as the README's hero example: default blocks (ImageBlock decodes with
// vision's load_image).
#include <catch2/catch.hpp>
#include <fastpp/data.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "../support/skip.hpp"
#include "helpers.hpp"

using namespace fastpp;
using fastpp::test::TempDir;
namespace fs = std::filesystem;

namespace {

const fs::path debian_dir = "/usr/share/datasets/fashion-mnist";

bool have_dataset() {
  return fs::exists(debian_dir / "t10k-labels-idx1-ubyte.gz") && fs::exists(debian_dir / "train-images-idx3-ubyte.gz");
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

// Skips the test where there is no exporter. Called first in a test, before any TempDir: the skip ends the
// process at once (tests/support/skip.hpp), so a folder made before it would be left behind.
void require_exporter() {
#if !defined(FASTPP_EXPORT_FASHION_MNIST)
  FASTPP_SKIP("the examples are not built (FASTPP_BUILD_EXAMPLES=OFF), so there is no exporter to run");
#endif
}

// Runs the exporter with `args`; returns its exit code and what it printed (stdout and stderr).
std::pair<int, std::string> run_exporter(const std::string& args, const fs::path& log) {
#if defined(FASTPP_EXPORT_FASHION_MNIST)
  const std::string cmd = quoted(FASTPP_EXPORT_FASHION_MNIST) + " " + args + " > " + quoted(log) + " 2>&1";
  const int status = std::system(cmd.c_str());
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
#else
  (void)args, (void)log;
  FASTPP_SKIP("the examples are not built (FASTPP_BUILD_EXAMPLES=OFF), so there is no exporter to run");
#endif
}

void put_be32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}

// Writes `bytes` gzip-compressed to `gz` (through the gzip command, as the dataset's files are made).
void write_gz(const fs::path& gz, const std::vector<std::uint8_t>& bytes) {
  const fs::path raw = gz.parent_path() / gz.stem();
  std::ofstream(raw, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                             static_cast<std::streamsize>(bytes.size()));
  REQUIRE(std::system(("gzip -n -f " + quoted(raw)).c_str()) == 0);
}

std::vector<std::uint8_t> idx_images(std::uint32_t count, std::uint32_t rows, std::uint32_t cols,
                                     const std::vector<std::uint8_t>& pixels) {
  std::vector<std::uint8_t> b;
  for (std::uint32_t v : {0x00000803u, count, rows, cols}) put_be32(b, v);
  b.insert(b.end(), pixels.begin(), pixels.end());
  return b;
}
std::vector<std::uint8_t> idx_labels(const std::vector<std::uint8_t>& labels) {
  std::vector<std::uint8_t> b;
  put_be32(b, 0x00000801u);
  put_be32(b, static_cast<std::uint32_t>(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

// Pixel p of image i of a synthetic IDX file: recognisable per image.
std::uint8_t pixel(std::int64_t i, std::int64_t p) { return static_cast<std::uint8_t>((i * 53 + p * 7) % 256); }

// A dataset of 5x4 images: train labels {0, 9, 0, 3, 0}, test labels {9, 1}.
void write_tiny_dataset(const fs::path& dir) {
  fs::create_directories(dir);
  auto images = [](std::int64_t n) {
    std::vector<std::uint8_t> px;
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t p = 0; p < 20; ++p) px.push_back(pixel(i, p));
    return px;
  };
  write_gz(dir / "train-images-idx3-ubyte.gz", idx_images(5, 5, 4, images(5)));
  write_gz(dir / "train-labels-idx1-ubyte.gz", idx_labels({0, 9, 0, 3, 0}));
  write_gz(dir / "t10k-images-idx3-ubyte.gz", idx_images(2, 5, 4, images(2)));
  write_gz(dir / "t10k-labels-idx1-ubyte.gz", idx_labels({9, 1}));
}

}  // namespace

TEST_CASE("the exporter writes each IDX image as a PNG of its class and split, with the IDX pixels", "[fashion]") {
  require_exporter();
  TempDir t;
  write_tiny_dataset(t / "src");
  const auto [rc, log] = run_exporter("--src " + quoted(t / "src") + " --out " + quoted(t / "out") + " --limit 2",
                                      t / "log.txt");
  INFO(log);
  REQUIRE(rc == 0);
  // --limit 2 keeps images 0 and 2 of T-shirt/top (image 4 is a third), and every other class's one image.
  CHECK_THAT(log, Catch::Contains("wrote 4 train and 2 valid images"));
  const auto files = get_image_files(t / "out");
  CHECK(files.map([&](const fs::path& p) { return fs::relative(p, t / "out").generic_string(); }) ==
        L<std::string>{"train/Ankle_boot/Ankle_boot_1.png", "train/Dress/Dress_3.png", "train/T-shirt_top/T-shirt_top_0.png",
                       "train/T-shirt_top/T-shirt_top_2.png", "valid/Ankle_boot/Ankle_boot_0.png",
                       "valid/Trouser/Trouser_1.png"});
  for (const auto& [file, index] : {std::pair{"train/Dress/Dress_3.png", 3}, std::pair{"valid/Trouser/Trouser_1.png", 1}}) {
    const Image img = load_image(t / "out" / file);
    REQUIRE(img.shape() == Shape{5, 4, 3});
    bool equal = true;
    for (std::int64_t p = 0; p < 20; ++p)
      for (int c = 0; c < 3; ++c) equal = equal && img.data()[p * 3 + c] == pixel(index, p);
    CHECK(equal);
  }
}

TEST_CASE("the exporter refuses a malformed IDX file, naming the file and the fault", "[fashion][bad_input]") {
  require_exporter();
  struct Case {
    const char* what;
    const char* file;
    std::vector<std::uint8_t> bytes;
    const char* expect;
  };
  std::vector<std::uint8_t> bad_magic = idx_labels({1});
  bad_magic[3] = 3;
  const Case cases[] = {
      {"short header", "train-images-idx3-ubyte.gz", {0, 0, 8, 3}, "shorter than its 16-byte header"},
      {"wrong magic", "train-labels-idx1-ubyte.gz", bad_magic, "wrong magic number"},
      {"pixels missing", "train-images-idx3-ubyte.gz", idx_images(2, 5, 4, std::vector<std::uint8_t>(30)),
       "30 bytes of pixels where the header announces 40"},
      {"implausible size", "t10k-images-idx3-ubyte.gz", idx_images(0, 5000, 4, {}), "5000x4 is not a plausible image size"},
      {"label out of range", "t10k-labels-idx1-ubyte.gz", idx_labels({9, 10}), "label 10 of image 1 is not in 0..9"},
      {"labels and images disagree", "t10k-labels-idx1-ubyte.gz", idx_labels({9}), "1 labels for 2 images"},
  };
  for (const Case& c : cases) {
    SECTION(c.what) {
      TempDir t;
      write_tiny_dataset(t / "src");
      write_gz(t / "src" / c.file, c.bytes);
      const auto [rc, log] = run_exporter("--src " + quoted(t / "src") + " --out " + quoted(t / "out"), t / "log.txt");
      INFO(log);
      CHECK(rc == 1);
      CHECK_THAT(log, Catch::Contains(c.expect) && Catch::Contains(c.file));
    }
  }
  SECTION("a missing or truncated .gz file") {
    TempDir t;
    write_tiny_dataset(t / "src");
    fs::remove(t / "src/t10k-labels-idx1-ubyte.gz");
    auto [rc, log] = run_exporter("--src " + quoted(t / "src") + " --out " + quoted(t / "out"), t / "log.txt");
    CHECK(rc == 1);
    CHECK_THAT(log, Catch::Contains("no such file") && Catch::Contains("t10k-labels-idx1-ubyte.gz"));
    const fs::path gz = t / "src/train-images-idx3-ubyte.gz";
    const auto size = fs::file_size(gz);
    fs::resize_file(gz, size / 2);
    std::tie(rc, log) = run_exporter("--src " + quoted(t / "src") + " --out " + quoted(t / "out"), t / "log.txt");
    CHECK(rc == 1);
    CHECK_THAT(log, Catch::Contains("train-images-idx3-ubyte.gz") && Catch::Contains("gzip"));
  }
}

// Not tagged [threads] (the loader tests are): a skip here must not end the ThreadSanitizer run.
TEST_CASE("the chapter's recipe runs unchanged on a Fashion-MNIST subset", "[fashion]") {
  if (!have_dataset()) FASTPP_SKIP("Debian's dataset-fashion-mnist is not installed");
  require_exporter();
  TempDir t;
  const auto [rc, log] = run_exporter("--out " + quoted(t / "fashion") + " --limit 6", t / "log.txt");
  INFO(log);
  REQUIRE(rc == 0);
  CHECK_THAT(log, Catch::Contains("wrote 60 train and 60 valid images"));
  CHECK(fs::exists(t / "fashion/train/T-shirt_top"));
  CHECK(fs::exists(t / "fashion/valid/Ankle_boot"));

  auto fashion = DataBlock{blocks<ImageBlock, CategoryBlock>,
                           get_image_files,
                           GrandparentSplitter{},
                           using_attr(RegexLabeller{R"((.+)_\d+.png$)"}, file_name)};
  std::ostringstream summary;
  fashion.summary(t / "fashion", summary);
  CHECK_THAT(summary.str(), Catch::Contains("Found 120 items") && Catch::Contains("2 datasets of sizes 60,60") &&
                                Catch::Contains("Image of size 28x28x3 (uint8 HWC)"));

  auto dls = fashion.dataloaders(t / "fashion", {.bs = 16, .num_workers = 2, .seed = 5});
  CHECK(dls.vocab == L<std::string>{"Ankle_boot", "Bag", "Coat", "Dress", "Pullover", "Sandal", "Shirt", "Sneaker",
                                    "T-shirt_top", "Trouser"});
  CHECK(dls.c == 10);
  CHECK(dls.train.n_batches() == 3);  // 60 / 16, drop_last
  CHECK(dls.valid.n_batches() == 4);

  // Every image and label of a batch is its file's: pixel / 255 (grey replicated), class from the folder.
  const auto items = dls.train.items();
  const Batch b = dls.one_batch();
  REQUIRE(b.x.shape() == Shape{16, 28, 28, 3});
  for (std::int64_t i = 0; i < 16; ++i) {
    const fs::path file = items[b.idxs[static_cast<std::size_t>(i)]];
    CHECK(dls.vocab[b.y.data()[i]] == file.parent_path().filename().string());
    const Image img = load_image(file);
    bool equal = true;
    for (std::int64_t k = 0; k < 28 * 28 * 3; ++k)
      equal = equal && b.x.data()[i * 28 * 28 * 3 + k] == static_cast<float>(img.data()[k]) / 255.0f;
    CHECK(equal);
  }
}

TEST_CASE("default blocks decode PNG with vision's load_image; bad files are named with the reason", "[fashion][bad_input]") {
  TempDir t;
  auto px = Tensor<std::uint8_t>::empty({12, 10});
  for (std::int64_t i = 0; i < px.numel(); ++i) px.data()[i] = static_cast<std::uint8_t>(i * 7);
  for (const char* split : {"train", "valid"})
    for (const char* cls : {"Bag", "Coat"})
      for (int k = 0; k < 3; ++k) {
        const auto dir = t.path() / split / cls;
        fs::create_directories(dir);
        save_png(px, dir / (std::string(cls) + "_" + std::to_string(k) + ".png"));
      }
  auto db = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, GrandparentSplitter{},
                      using_attr(RegexLabeller{R"((.+)_\d+.(png|jpg)$)"}, file_name)};
  auto dls = db.dataloaders(t.path(), {.bs = 2, .num_workers = 1});
  const Batch b = dls.one_batch();
  CHECK(b.x.shape() == Shape{2, 12, 10, 3});
  CHECK(b.x.data()[3 * 5] == static_cast<float>(px.data()[5]) / 255.0f);

  fastpp::test::write_text(t / "train/Bag/Bag_7.jpg", "this is not a JPEG\n");
  fastpp::test::write_text(t / "train/Coat/Coat_8.png", "");
  std::ostringstream report;
  auto skipping = db.dataloaders(t.path(), {.bs = 2, .num_workers = 1, .on_bad_item = BadItems::skip, .report = &report});
  CHECK(skipping.bad_items.size() == 2);
  CHECK_THAT(report.str(), Catch::Contains("Bag_7.jpg") && Catch::Contains("Coat_8.png"));
  auto strict = db.dataloaders(t.path(), {.bs = 2, .shuffle = false, .num_workers = 1});
  CHECK_THROWS_WITH([&] { for (const Batch& x : strict.train) (void)x; }(), Catch::Contains("Bag_7.jpg"));
  INFO(report.str());
}
