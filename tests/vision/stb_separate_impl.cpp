// The one TU that compiles stb_image (and stb_image_write) for a program built with FASTPP_STB_SEPARATE.
#define FASTPP_STB_IMPLEMENTATION
#include <fastpp/vision/image.hpp>

fastpp::Image decode_in_the_implementation_tu(const std::vector<std::uint8_t>& bytes) {
  return fastpp::decode_image(bytes, "impl tu");
}
