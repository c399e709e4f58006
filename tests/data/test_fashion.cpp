// Fashion-MNIST as PNG folders, and the chapter's recipe on a small subset of it, written as the
// README's hero example: default blocks (ImageBlock decodes with vision's load_image).
#include <catch2/catch.hpp>
#include <fastpp/data.hpp>
#include <fastpp/data/fashion_mnist.hpp>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "../support/skip.hpp"
#include "helpers.hpp"

using namespace fastpp;
using fastpp::test::TempDir;
namespace fs = std::filesystem;

namespace {

bool have_dataset() {
  return fs::exists(fashion_mnist_debian_dir / "t10k-labels-idx1-ubyte.gz") &&
         fs::exists(fashion_mnist_debian_dir / "train-images-idx3-ubyte.gz");
}

}  // namespace

TEST_CASE("IDX parsing refuses short, mislabelled and inconsistent files", "[fashion]") {
  auto bytes = [](std::initializer_list<int> v) {
    std::vector<std::uint8_t> b;
    for (int x : v) b.push_back(static_cast<std::uint8_t>(x));
    return b;
  };
  CHECK_THROWS_WITH(parse_idx_images(bytes({0, 0, 8, 3}), "a"), Catch::Contains("shorter than its 16-byte header"));
  CHECK_THROWS_WITH(parse_idx_images(bytes({0, 0, 8, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}), "a"),
                    Catch::Contains("wrong magic"));
  CHECK_THROWS_WITH(parse_idx_images(bytes({0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 7}), "a"),
                    Catch::Contains("1 bytes of pixels where the header announces 2"));
  CHECK(parse_idx_images(bytes({0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 7, 9}), "a").pixels ==
        std::vector<std::uint8_t>{7, 9});
  CHECK_THROWS_WITH(parse_idx_labels(bytes({0, 0, 8, 1, 0, 0, 0, 3, 1}), "l"), Catch::Contains("1 labels where"));
  CHECK(parse_idx_labels(bytes({0, 0, 8, 1, 0, 0, 0, 1, 4}), "l") == std::vector<std::uint8_t>{4});
}

TEST_CASE("gzip: zlib and the gzip command read the same bytes; a truncated file is an error", "[fashion]") {
  if (!have_dataset()) FASTPP_SKIP("Debian's dataset-fashion-mnist is not installed");
  const auto labels = fashion_mnist_debian_dir / "t10k-labels-idx1-ubyte.gz";
  const auto via_tool = read_gzip_with_tool(labels);
  CHECK(via_tool.size() == 10008);
  CHECK(parse_idx_labels(via_tool, labels.string()).size() == 10000);
#if defined(FASTPP_HAVE_ZLIB)
  CHECK(read_gzip_with_zlib(labels) == via_tool);
#endif
  TempDir t;
  std::ifstream in(labels, std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(t / "cut.gz", std::ios::binary) << gz.substr(0, gz.size() / 2);
  CHECK_THROWS_AS(read_gzip_with_tool(t / "cut.gz"), FormatError);
#if defined(FASTPP_HAVE_ZLIB)
  CHECK_THROWS_WITH(read_gzip_with_zlib(t / "cut.gz"), Catch::Contains("cut.gz"));
#endif
  CHECK_THROWS_WITH(read_gzip(t / "missing.gz"), Catch::Contains("no such file") && Catch::Contains("missing.gz"));
}

// Not tagged [threads] (the loader tests are): a skip here must not end the ThreadSanitizer run.
TEST_CASE("the chapter's recipe runs unchanged on a Fashion-MNIST subset", "[fashion]") {
  if (!have_dataset()) FASTPP_SKIP("Debian's dataset-fashion-mnist is not installed");
  TempDir t;
  const auto counts = export_fashion_mnist(fashion_mnist_debian_dir, t / "fashion", {.limit_per_class = 6});
  CHECK(counts.train == 60);
  CHECK(counts.valid == 60);
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

  // Every image and label of a batch is the IDX file's, as written: pixel / 255, class index via vocab.
  const auto idx = parse_idx_images(read_gzip(fashion_mnist_debian_dir / "train-images-idx3-ubyte.gz"), "train");
  const auto lbl = parse_idx_labels(read_gzip(fashion_mnist_debian_dir / "train-labels-idx1-ubyte.gz"), "train");
  const auto items = dls.train.items();
  const Batch b = dls.one_batch();
  REQUIRE(b.x.shape() == Shape{16, 28, 28, 3});
  for (std::int64_t i = 0; i < 16; ++i) {
    const auto name = items[b.idxs[static_cast<std::size_t>(i)]].stem().string();
    const auto n = std::stoll(name.substr(name.rfind('_') + 1));
    const std::string cls = file_safe_name(fashion_mnist_classes()[lbl[static_cast<std::size_t>(n)]]);
    CHECK(dls.vocab[b.y.data()[i]] == cls);
    bool equal = true;
    for (std::int64_t p = 0; p < 28 * 28; ++p)
      for (int c = 0; c < 3; ++c)
        equal = equal && b.x.data()[(i * 28 * 28 + p) * 3 + c] ==
                             static_cast<float>(idx.pixels[static_cast<std::size_t>(n * 784 + p)]) / 255.0f;
    CHECK(equal);
  }
}

TEST_CASE("default blocks decode PNG with vision's load_image; bad files are named with the reason", "[fashion][bad_input]") {
  TempDir t;
  std::vector<std::uint8_t> px(12 * 10);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(i * 7);
  for (const char* split : {"train", "valid"})
    for (const char* cls : {"Bag", "Coat"})
      for (int k = 0; k < 3; ++k) {
        const auto dir = t.path() / split / cls;
        fs::create_directories(dir);
        write_png_uncompressed(dir / (std::string(cls) + "_" + std::to_string(k) + ".png"), px.data(), 12, 10, 1);
      }
  auto db = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, GrandparentSplitter{},
                      using_attr(RegexLabeller{R"((.+)_\d+.(png|jpg)$)"}, file_name)};
  auto dls = db.dataloaders(t.path(), {.bs = 2, .num_workers = 1});
  const Batch b = dls.one_batch();
  CHECK(b.x.shape() == Shape{2, 12, 10, 3});
  CHECK(b.x.data()[3 * 5] == static_cast<float>(px[5]) / 255.0f);

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
