#pragma once
// ImageBlock: the input block of image classification (an InputBlock, block.hpp). Its items are files;
// create() decodes one into an RGB Image [H, W, 3] (uint8, HWC) with the block's loader, collate() stacks
// same-sized images into uint8 [N, H, W, 3], and its batch_tfm, IntToFloat, makes that the float batch in
// [0, 1] the batch transforms take (fastai's ImageBlock adds IntToFloatTensor the same way). Including this
// header compiles stb_image into the TU (see docs/vision.md, "How stb_image is compiled", for
// FASTPP_STB_SEPARATE).
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "../vision/image.hpp"
#include "../vision/netpbm.hpp"
#include "../vision/transform.hpp"
#include "collate.hpp"

namespace fastpp {

using ImageLoader = std::function<Image(const std::filesystem::path&)>;

// The decoder every ImageBlock uses unless given its own (ImageBlock{.load = f}): vision's load_image
// (stb_image, or libjpeg-turbo where linked: JPEG, PNG, BMP; limits on size checked before decoding) with
// the block's DecodeOptions. Binary PGM/PPM files need ImageBlock{.load = load_netpbm} (vision/netpbm.hpp).
inline Image default_image_loader(const std::filesystem::path& path) { return load_image(path); }

// `decode` configures fastpp's decoder without writing a loader:
//   Blocks{ImageBlock{.decode = {.alpha = AlphaPolicy::composite_onto({255, 255, 255})}}, CategoryBlock{}}
//   Blocks{ImageBlock{.decode = {.limits = {.max_pixels = std::int64_t{1} << 28}}}, CategoryBlock{}}
// It applies to the default loader only: a block with a loader of its own and non-default options is
// refused (the options would be silently ignored), so pass them to your loader yourself.
struct ImageBlock {
  using item_type = Image;
  using batch_tfm = IntToFloat;
  ImageLoader load = default_image_loader;
  DecodeOptions decode{};

  Image create(const std::filesystem::path& path) const {
    check(static_cast<bool>(load), "ImageBlock has no loader: give it one with ImageBlock{.load = f}");
    if (uses_default_loader()) return load_image(path, decode);
    check(decode == DecodeOptions{}, "ImageBlock: .decode configures fastpp's decoder, but this block has a "
          "loader of its own (.load), which would ignore it: pass the options to your loader instead");
    return load(path);
  }

  // Why `path` will fail to load, from its header alone ("" when it looks fine; summary() asks every file).
  // Only fastpp's decoder can be judged so: with a loader of your own there is no answer (nullopt).
  std::optional<std::string> header_problem(const std::filesystem::path& path) const {
    if (!uses_default_loader()) return std::nullopt;
    return fastpp::header_problem(path, decode.limits);
  }

  bool uses_default_loader() const {
    using Fn = Image (*)(const std::filesystem::path&);
    const Fn* f = load.target<Fn>();
    return f != nullptr && *f == &default_image_loader;
  }
  std::string name() const { return "ImageBlock.load"; }

  // Same-sized images -> uint8 [N, H, W, 3]; images of different sizes are an error naming the first two.
  Tensor<std::uint8_t, cpu> collate(const std::vector<Image>& images, const std::vector<std::string>& names) const {
    return collate_images(images, std::vector<std::filesystem::path>(names.begin(), names.end()));
  }
};

}  // namespace fastpp
