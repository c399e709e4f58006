#pragma once
// ImageBlock: the input block of image classification (an InputBlock, block.hpp). Its items are files;
// create() decodes one into an RGB Image [H, W, 3] (uint8, HWC) with the block's loader, collate() stacks
// same-sized images into uint8 [N, H, W, 3], and its batch_tfm, IntToFloat, makes that the float batch in
// [0, 1] the batch transforms take (fastai's ImageBlock adds IntToFloatTensor the same way). Including this
// header compiles stb_image into the TU (see docs/vision.md, "How stb_image is compiled", for
// FASTPP_STB_SEPARATE).
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "../vision/image.hpp"
#include "../vision/netpbm.hpp"
#include "../vision/transform.hpp"
#include "collate.hpp"

namespace fastpp {

using ImageLoader = std::function<Image(const std::filesystem::path&)>;

// The decoder every ImageBlock uses unless given its own (ImageBlock{.load = f}): vision's load_image
// (stb_image, or libjpeg-turbo where linked: JPEG, PNG, BMP; limits on size checked before decoding).
// Binary PGM/PPM files need ImageBlock{.load = load_netpbm} (vision/netpbm.hpp).
inline Image default_image_loader(const std::filesystem::path& path) { return load_image(path); }

struct ImageBlock {
  using item_type = Image;
  using batch_tfm = IntToFloat;
  ImageLoader load = default_image_loader;

  Image create(const std::filesystem::path& path) const {
    check(static_cast<bool>(load), "ImageBlock has no loader: give it one with ImageBlock{.load = f}");
    return load(path);
  }
  std::string name() const { return "ImageBlock.load"; }

  // Same-sized images -> uint8 [N, H, W, 3]; images of different sizes are an error naming the first two.
  Tensor<std::uint8_t, cpu> collate(const std::vector<Image>& images, const std::vector<std::string>& names) const {
    return collate_images(images, std::vector<std::filesystem::path>(names.begin(), names.end()));
  }
};

}  // namespace fastpp
