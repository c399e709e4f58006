// A program built with FASTPP_STB_SEPARATE: this TU sees stb's declarations only and links the copy compiled
// in stb_separate_impl.cpp. Decodes, encodes and refuses files like the header-only default; exit code 0
// when everything matches.
#include <fastpp/vision/image.hpp>

#include <cstdio>

fastpp::Image decode_in_the_implementation_tu(const std::vector<std::uint8_t>& bytes);

int main() {
  using namespace fastpp;
  const std::string dir = std::string(FASTPP_TEST_DATA_DIR) + "/fixtures/vision/";
  const auto bytes = read_file_bytes(dir + "photo.png");
  const Image a = decode_image(bytes, "main tu");
  const Image b = decode_in_the_implementation_tu(bytes);
  const Image c = decode_image(encode_png(a), "re-encoded");
  const bool same = a.shape() == Shape{48, 64, 3} && std::equal(a.begin(), a.end(), b.begin()) &&
                    std::equal(a.begin(), a.end(), c.begin());
  bool refused = false;
  try {
    (void)load_image(dir + "zlib_bomb.png");  // the allocation cap works in this mode too
  } catch (const FormatError& e) {
    refused = std::string(e.what()).find("outofmem") != std::string::npos;
  }
  std::printf("decode equal: %d, bomb refused: %d\n", same, refused);
  return same && refused ? 0 : 1;
}
