#pragma once
// A PNG decoder for the data tests, compiled in its own translation unit (test_png.cpp) with a private
// copy of stb_image, so no test TU that includes fastpp/data.hpp (and, once vision/ is wired in as
// ImageBlock's default decoder, vision's own stb_image) also defines stb_image's implementation.
#include <fastpp/data/transform.hpp>

#include <filesystem>

namespace fastpp::test {
Image load_png_for_tests(const std::filesystem::path& path);
}  // namespace fastpp::test
