#pragma once
// Test helpers for the data area: a temporary folder that removes itself, and tiny image files.
#include <fastpp/vision/netpbm.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace fastpp::test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = fs::temp_directory_path() /
            ("fastpp_data_" + std::to_string(::getpid()) + "_" + std::to_string(stamp) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& s) const { return path_ / s; }

 private:
  fs::path path_;
};

// An h x w RGB image whose pixels are a function of (seed, y, x, c), so each file is recognisable.
inline Image pattern_image(std::int64_t h, std::int64_t w, int seed) {
  Image img = Image::empty({h, w, 3});
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) img(y, x, c) = static_cast<std::uint8_t>((seed * 37 + y * 7 + x * 3 + c * 11) % 256);
  return img;
}

inline void write_ppm(const fs::path& p, std::int64_t h, std::int64_t w, int seed) {
  fs::create_directories(p.parent_path());
  save_ppm(p, pattern_image(h, w, seed));
}

inline void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

}  // namespace fastpp::test
