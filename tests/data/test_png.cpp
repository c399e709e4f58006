// The PNG writer of the Fashion-MNIST export makes files that fastpp's decoder (vision's load_image)
// reads back exactly. This TU also compiles stb_image once for the whole test program: the target
// defines FASTPP_STB_SEPARATE (tests/data/CMakeLists.txt), so every other TU only declares it.
#define FASTPP_STB_IMPLEMENTATION
#include <fastpp/vision/image.hpp>

#include <catch2/catch.hpp>
#include <fastpp/data/fashion_mnist.hpp>

#include <cstring>
#include <tuple>

#include "helpers.hpp"

using namespace fastpp;
using fastpp::test::TempDir;

TEST_CASE("the PNG writer's files decode to the same pixels (grey, RGB, several deflate blocks)", "[fashion]") {
  TempDir t;
  for (auto [h, w, ch] : {std::tuple{28, 28, 1}, std::tuple{5, 7, 3}, std::tuple{200, 150, 3}}) {
    std::vector<std::uint8_t> px(static_cast<std::size_t>(h * w * ch));
    for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>((i * 31 + i / 7) % 251);
    const auto file = t / ("img_" + std::to_string(h) + ".png");
    write_png_uncompressed(file, px.data(), h, w, ch);
    const Image img = load_image(file);  // grey PNGs come back as RGB
    REQUIRE(img.shape() == Shape{h, w, 3});
    bool equal = true;
    for (std::int64_t i = 0; i < h * w; ++i)
      for (int c = 0; c < 3; ++c) equal = equal && img.data()[i * 3 + c] == px[static_cast<std::size_t>(i * ch + (ch == 3 ? c : 0))];
    CHECK(equal);
  }
  CHECK(file_safe_name("T-shirt/top") == "T-shirt_top");
  CHECK(file_safe_name("Ankle boot") == "Ankle_boot");
}

