// The tests' PNG decoder (stb_image, private to this translation unit) and the check that the PNG
// writer of the Fashion-MNIST export makes files a real decoder reads back exactly.
#include <catch2/catch.hpp>
#include <fastpp/data/fashion_mnist.hpp>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#include <stb_image.h>

#include <cstring>
#include <tuple>

#include "helpers.hpp"
#include "png_loader.hpp"

namespace fastpp::test {

Image load_png_for_tests(const std::filesystem::path& path) {
  int w = 0, h = 0, c = 0;
  stbi_uc* d = stbi_load(path.string().c_str(), &w, &h, &c, 3);
  if (!d) throw FormatError(path.string(), stbi_failure_reason());
  Image img = Image::empty({h, w, 3});
  std::memcpy(img.data(), d, static_cast<std::size_t>(img.numel()));
  stbi_image_free(d);
  return img;
}

}  // namespace fastpp::test

using namespace fastpp;
using fastpp::test::TempDir;

TEST_CASE("the PNG writer's files decode to the same pixels (grey, RGB, several deflate blocks)", "[fashion]") {
  TempDir t;
  for (auto [h, w, ch] : {std::tuple{28, 28, 1}, std::tuple{5, 7, 3}, std::tuple{200, 150, 3}}) {
    std::vector<std::uint8_t> px(static_cast<std::size_t>(h * w * ch));
    for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>((i * 31 + i / 7) % 251);
    const auto file = t / ("img_" + std::to_string(h) + ".png");
    write_png_uncompressed(file, px.data(), h, w, ch);
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

