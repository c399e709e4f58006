#pragma once
// Small transforms for the data tests, written to the contract of fastpp/vision/transform.hpp.
#include <fastpp/data.hpp>

#include <stdexcept>
#include <string>

#include "helpers.hpp"

namespace fastpp::test {

// A size x size crop: at a random position on train (from the item's own stream), centred on valid.
struct CropTo {
  std::int64_t size = 8;
  static constexpr int order = 1;
  Image operator()(Image in, ItemContext& ctx) const {
    const std::int64_t h = in.size(0), w = in.size(1);
    check(h >= size && w >= size, "CropTo: image ", h, "x", w, " is smaller than ", size);
    std::int64_t y0 = (h - size) / 2, x0 = (w - size) / 2;
    if (ctx.split == Split::train) {
      y0 = ctx.rng.below(static_cast<std::uint32_t>(h - size + 1));
      x0 = ctx.rng.below(static_cast<std::uint32_t>(w - size + 1));
    }
    Image out = Image::empty({size, size, 3});
    for (std::int64_t y = 0; y < size; ++y)
      for (std::int64_t x = 0; x < size; ++x)
        for (int c = 0; c < 3; ++c) out(y, x, c) = in(y0 + y, x0 + x, c);
    return out;
  }
  std::string name() const { return detail::msg("CropTo -- {'size': ", size, "}"); }
};

// Adds uniform noise in [0, amount) to every pixel, drawn per image from ctx.item_rng(i) (train only).
struct Jitter {
  float amount = 0.1f;
  static constexpr int order = 30;
  Tensor<float, cpu> operator()(Tensor<float, cpu> b, BatchContext& ctx) const {
    if (ctx.split != Split::train) return b;
    const std::int64_t per = b.numel() / b.size(0);
    for (std::int64_t i = 0; i < b.size(0); ++i) {
      Rng r = ctx.item_rng(i);
      for (std::int64_t k = 0; k < per; ++k) b.data()[i * per + k] += amount * r.uniform();
    }
    return b;
  }
  std::string name() const { return "Jitter"; }
};

// Multiplies the batch by factor (order 99, after Jitter whatever the order given).
struct Scale {
  float factor = 2.0f;
  static constexpr int order = 99;
  Tensor<float, cpu> operator()(Tensor<float, cpu> b, BatchContext&) const {
    for (auto& v : b) v *= factor;
    return b;
  }
  std::string name() const { return "Scale"; }
};

// Throws on images of a given height: a broken step for summary() and the loader to report.
struct FailOnHeight {
  std::int64_t height = 0;
  static constexpr int order = 0;
  Image operator()(Image in, ItemContext&) const {
    if (in.size(0) == height) throw std::runtime_error(detail::msg("boom: cannot handle height ", height));
    return in;
  }
  std::string name() const { return "FailOnHeight"; }
};

// A tree <root>/{train,valid}/<Class>/<Class>_<n>.ppm: 3 classes, 8 train and 3 valid files each, of
// sizes between 10x10 and 13x12 (so batching needs a crop). Returns the number of files.
inline int make_tree(const fs::path& root) {
  const char* classes[] = {"Sandal", "Bag", "ankle_boot"};
  int n = 0;
  for (int c = 0; c < 3; ++c)
    for (int k = 0; k < 11; ++k) {
      const char* split = k < 8 ? "train" : "valid";
      const auto file = root / split / classes[c] / (std::string(classes[c]) + "_" + std::to_string(k) + ".ppm");
      write_ppm(file, 10 + (k % 4), 10 + (k % 3), c * 100 + k);
      ++n;
    }
  return n;
}

inline auto regex_label() { return using_attr(RegexLabeller{R"((.+)_\d+.ppm$)"}, file_name); }
inline ImageBlock ppm_block() { return ImageBlock{.load = load_netpbm}; }

}  // namespace fastpp::test

namespace fastpp::test {
// A batch transform that always throws.
struct BrokenBatchTfm {
  static constexpr int order = 50;
  Tensor<float, cpu> operator()(Tensor<float, cpu>, BatchContext&) const { throw ShapeError("expected 224x224"); }
  std::string name() const { return "BrokenBatchTfm"; }
};
}  // namespace fastpp::test

namespace fastpp::test {
// x * 2 - 1 with its decode, as Normalize has one.
struct Affine2 {
  static constexpr int order = 99;
  Tensor<float, cpu> operator()(Tensor<float, cpu> b, BatchContext&) const {
    for (auto& v : b) v = v * 2.0f - 1.0f;
    return b;
  }
  Tensor<float, cpu> decode(const Tensor<float, cpu>& b) const {
    auto out = b.clone();
    for (auto& v : out) v = (v + 1.0f) / 2.0f;
    return out;
  }
  std::string name() const { return "Affine2"; }
};
}  // namespace fastpp::test
