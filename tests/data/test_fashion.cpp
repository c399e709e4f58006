// Fashion-MNIST as PNG folders, and the chapter's recipe on a small subset of it. The PNGs are read back
// with stb_image, compiled privately into this test (vision/ owns fastpp's decoder).
#include <catch2/catch.hpp>
#include <fastpp/data.hpp>
#include <fastpp/data/fashion_mnist.hpp>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#include <stb_image.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "../support/skip.hpp"
#include "helpers.hpp"

using namespace fastpp;
using fastpp::test::TempDir;
namespace fs = std::filesystem;

namespace {

// The test's decoder for ImageBlock: any PNG to RGB.
Image load_png(const fs::path& p) {
  int w = 0, h = 0, c = 0;
  stbi_uc* d = stbi_load(p.string().c_str(), &w, &h, &c, 3);
  if (!d) throw FormatError(p.string(), stbi_failure_reason());
  Image img = Image::empty({h, w, 3});
  std::memcpy(img.data(), d, static_cast<std::size_t>(img.numel()));
  stbi_image_free(d);
  return img;
}

bool have_dataset() {
  return fs::exists(fashion_mnist_debian_dir / "t10k-labels-idx1-ubyte.gz") &&
         fs::exists(fashion_mnist_debian_dir / "train-images-idx3-ubyte.gz");
}

}  // namespace

TEST_CASE("the PNG writer's files decode to the same pixels (grey, RGB, several deflate blocks)", "[fashion]") {
  TempDir t;
  for (auto [h, w, ch] : {std::tuple{28, 28, 1}, std::tuple{5, 7, 3}, std::tuple{200, 150, 3}}) {
    std::vector<std::uint8_t> px(static_cast<std::size_t>(h * w * ch));
    for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>((i * 31 + i / 7) % 251);
    const auto file = t / ("img_" + std::to_string(h) + ".png");
    write_png(file, px.data(), h, w, ch);
    int W = 0, H = 0, C = 0;
    stbi_uc* d = stbi_load(file.string().c_str(), &W, &H, &C, 0);
    REQUIRE(d != nullptr);
    CHECK(W == w);
    CHECK(H == h);
    CHECK(C == ch);
    CHECK(std::memcmp(d, px.data(), px.size()) == 0);
    stbi_image_free(d);
  }
  CHECK(file_safe_name("T-shirt/top") == "T-shirt_top");
  CHECK(file_safe_name("Ankle boot") == "Ankle_boot");
}

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

  auto fashion = DataBlock{Blocks{ImageBlock{.load = load_png}, CategoryBlock{}},
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
