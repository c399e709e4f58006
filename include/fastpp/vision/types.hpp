#pragma once
// Small value types shared by the item transforms and the batch augmentation.
#include <cmath>
#include <cstdint>
#include <string>

#include "../backend/cpu/image_kernels.hpp"
#include "../core/error.hpp"

namespace fastpp {

// A target size. An integer means a square (as in fastai); {h, w} a rectangle (fastai takes tuples as (h, w)).
struct SizeHW {
  std::int64_t h = 0, w = 0;
  constexpr SizeHW() = default;
  constexpr SizeHW(std::int64_t side) : h(side), w(side) {}  // NOLINT: implicit on purpose, Resize{224}
  constexpr SizeHW(std::int64_t height, std::int64_t width) : h(height), w(width) {}
  constexpr bool empty() const { return h <= 0 || w <= 0; }
  friend constexpr bool operator==(const SizeHW& a, const SizeHW& b) { return a.h == b.h && a.w == b.w; }
  std::string str() const {
    return h == w ? std::to_string(h) : "(" + std::to_string(h) + ", " + std::to_string(w) + ")";
  }
};

// How Resize fits an image of another aspect ratio (fastai's ResizeMethod).
enum class ResizeMethod { crop, pad, squish };

// What lies outside the image: fastai's PadMode (zeros, border = repeat the edge, reflection = mirror), and
// the interpolation of the batch augmentation's single resample (grid_sample's mode). Defined with the
// samplers that read them (backend/cpu/image_kernels.hpp).
using PadMode = backend::PadMode;
using SampleMode = backend::SampleMode;

inline const char* to_string(ResizeMethod m) {
  switch (m) {
    case ResizeMethod::crop:
      return "crop";
    case ResizeMethod::pad:
      return "pad";
    case ResizeMethod::squish:
      return "squish";
  }
  return "?";
}
inline const char* to_string(PadMode m) {
  switch (m) {
    case PadMode::zeros:
      return "zeros";
    case PadMode::border:
      return "border";
    case PadMode::reflection:
      return "reflection";
  }
  return "?";
}
inline const char* to_string(SampleMode m) { return m == SampleMode::bilinear ? "bilinear" : "nearest"; }

namespace detail {
// Python's round(): halves go to the even neighbour (std::nearbyint in the default rounding mode does the same).
inline std::int64_t round_half_even(double x) {
  const double f = std::floor(x), d = x - f;
  if (d > 0.5) return static_cast<std::int64_t>(f) + 1;
  if (d < 0.5) return static_cast<std::int64_t>(f);
  const auto fi = static_cast<std::int64_t>(f);
  return fi % 2 == 0 ? fi : fi + 1;
}

}  // namespace detail

}  // namespace fastpp
