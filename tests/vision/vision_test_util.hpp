#pragma once
// Helpers shared by the vision tests: fixture paths and image comparisons.
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <fastpp/core/tensor.hpp>

namespace vtest {

inline std::string fixture(const std::string& name) { return std::string(FASTPP_TEST_DATA_DIR) + "/fixtures/vision/" + name; }

inline int max_abs_diff_u8(const fastpp::Tensor<std::uint8_t>& a, const fastpp::Tensor<std::uint8_t>& b) {
  int m = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(int(a.data()[i]) - int(b.data()[i])));
  return m;
}

// Peak signal-to-noise ratio of two float images in [0, 1], over the positions where mask is true (all if empty).
inline double psnr(const float* a, const float* b, std::int64_t n, const std::vector<bool>& mask = {}) {
  double se = 0;
  std::int64_t cnt = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (!mask.empty() && !mask[static_cast<std::size_t>(i)]) continue;
    const double d = double(a[i]) - double(b[i]);
    se += d * d;
    ++cnt;
  }
  if (cnt == 0 || se == 0) return 999.0;
  return 10.0 * std::log10(1.0 / (se / double(cnt)));
}

inline std::vector<float> read_f32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(0, std::ios::end);
  const auto n = static_cast<std::size_t>(in.tellg());
  in.seekg(0);
  std::vector<float> v(n / 4);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return v;
}

}  // namespace vtest
