// vision's PNG encoder writes grey images (what examples/export_fashion_mnist.cpp writes Fashion-MNIST as)
// that the default ImageBlock decoder reads back exactly, as RGB. This TU also compiles stb_image once for
// the whole test program: the target defines FASTPP_STB_SEPARATE (tests/data/CMakeLists.txt), so every
// other TU only declares it.
// own translation unit: it compiles stb_image for the whole program (FASTPP_STB_IMPLEMENTATION).
#define FASTPP_STB_IMPLEMENTATION
#include <fastpp/vision/image.hpp>

#include <catch2/catch.hpp>

#include <tuple>

#include "helpers.hpp"

using namespace fastpp;
using fastpp::test::TempDir;

TEST_CASE("grey and RGB PNGs written by save_png decode to the same pixels, grey replicated", "[fashion]") {
  TempDir t;
  for (auto [h, w, ch] : {std::tuple{28, 28, 1}, std::tuple{5, 7, 3}, std::tuple{200, 150, 1}}) {
    auto img = ch == 1 ? Tensor<std::uint8_t>::empty({h, w}) : Tensor<std::uint8_t>::empty({h, w, ch});
    for (std::int64_t i = 0; i < img.numel(); ++i) img.data()[i] = static_cast<std::uint8_t>((i * 31 + i / 7) % 251);
    const auto file = t / ("img_" + std::to_string(h) + ".png");
    save_png(img, file);
    const Image back = load_image(file);
    REQUIRE(back.shape() == Shape{h, w, 3});
    bool equal = true;
    for (std::int64_t i = 0; i < h * w; ++i)
      for (int c = 0; c < 3; ++c) equal = equal && back.data()[i * 3 + c] == img.data()[i * ch + (ch == 3 ? c : 0)];
    CHECK(equal);
  }
}
