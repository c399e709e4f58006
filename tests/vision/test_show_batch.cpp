// show_batch writes an SVG whose embedded PNGs are the batch's images and whose texts are the captions.
#include <catch2/catch.hpp>

#include <fastpp/vision/image.hpp>
#include <fastpp/vision/show_batch.hpp>
#include <fastpp/vision/transforms.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "vision_test_util.hpp"

using namespace fastpp;

namespace {
std::vector<std::uint8_t> unbase64(const std::string& s) {
  std::vector<std::uint8_t> out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    if (v < 0) continue;
    acc = acc << 6 | std::uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(std::uint8_t(acc >> bits));
    }
  }
  return out;
}

std::string unescape(std::string s) {
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}}) {
    for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  }
  return s;
}
}  // namespace

TEST_CASE("show_batch: the SVG holds every image (as PNG) and every caption", "[vision][show_batch]") {
  // Five different images: the photo under five item transforms.
  const Image src = load_image(vtest::fixture("photo.png"));
  auto batch = Tensor<std::uint8_t>::empty(Shape{5, 20, 20, 3});
  for (int i = 0; i < 5; ++i) {
    const Image im = Resize{20}.apply(src, 0.25 * i, 0.5);
    std::copy(im.begin(), im.end(), batch.data() + i * 20 * 20 * 3);
  }
  const std::vector<std::string> captions{"Abyssinian", "cat & <dog>", "T-shirt_top", "\"quoted\"", "e"};
  const auto dir = std::filesystem::temp_directory_path() / "fastpp_show_batch_test";
  std::filesystem::create_directories(dir);
  const auto file = dir / "batch.svg";
  show_batch(batch, captions, file);
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string svg = ss.str();
  CHECK(svg.rfind("<?xml", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);

  const std::regex image_re("xlink:href=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"");
  int n = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), image_re); it != std::sregex_iterator(); ++it, ++n) {
    const Image decoded = decode_image(unbase64((*it)[1].str()), "svg image");
    REQUIRE(decoded.shape() == Shape{20, 20, 3});
    CHECK(vtest::max_abs_diff_u8(decoded, batch[n].reshape(Shape{20, 20, 3})) == 0);
  }
  CHECK(n == 5);
  const std::regex text_re("<text[^>]*>([^<]*)</text>");
  std::vector<std::string> texts;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), text_re); it != std::sregex_iterator(); ++it)
    texts.push_back(unescape((*it)[1].str()));
  CHECK(texts == captions);
  // fastai's grid: 5 images -> 2 rows x 3 columns.
  CHECK(grid_shape(5) == std::pair<int, int>{2, 3});
  CHECK(grid_shape(9) == std::pair<int, int>{3, 3});
  CHECK(grid_shape(9, 1) == std::pair<int, int>{1, 9});
  CHECK(grid_shape(7, 0, 2) == std::pair<int, int>{4, 2});
  std::filesystem::remove_all(dir);
}

TEST_CASE("show_batch: float batches, max_n, and clear errors", "[vision][show_batch]") {
  auto f = Tensor<float>::full(Shape{12, 4, 6, 3}, 0.5f);
  const auto dir = std::filesystem::temp_directory_path() / "fastpp_show_batch_test2";
  std::filesystem::create_directories(dir);
  show_batch(f, {}, dir / "f.svg", ShowBatchOptions{.max_n = 4});
  std::ifstream in(dir / "f.svg");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string svg = ss.str();
  std::size_t count = 0;
  for (std::size_t p = svg.find("<image"); p != std::string::npos; p = svg.find("<image", p + 1)) ++count;
  CHECK(count == 4);
  CHECK(svg.find("<text") == std::string::npos);
  CHECK_THROWS_WITH(show_batch(f, {"a", "b"}, dir / "g.svg"), Catch::Contains("2 captions for 9 images"));
  CHECK_THROWS_WITH(show_batch(f, {}, dir / "h.svg", ShowBatchOptions{.nrows = 2, .ncols = 2}),
                    Catch::Contains("cannot hold 9"));
  CHECK_THROWS_AS(show_batch(f, {}, dir / "no_such_dir" / "x.svg"), IoError);
  std::filesystem::remove_all(dir);
}
