#pragma once
// ImageBlock: the input block of image classification. Its items are files; create() decodes one
// into an RGB Image [H, W, 3] (uint8, HWC) with the block's loader.
#include <filesystem>
#include <functional>
#include <string>

#include "netpbm.hpp"
#include "transform.hpp"

namespace fastpp {

using ImageLoader = std::function<Image(const std::filesystem::path&)>;

// WIRING POINT: the decoder every ImageBlock uses unless given its own (ImageBlock{.load = f}).
// Until vision/ is merged it is the binary PGM/PPM reader of netpbm.hpp; at the merge this body becomes
// `return load_image(path);` (vision's stb_image decoder for JPEG/PNG/BMP, plus its #include).
inline Image default_image_loader(const std::filesystem::path& path) { return load_netpbm(path); }

struct ImageBlock {
  using item_type = Image;
  ImageLoader load = default_image_loader;

  Image create(const std::filesystem::path& path) const {
    check(static_cast<bool>(load), "ImageBlock has no loader: give it one with ImageBlock{.load = f}");
    return load(path);
  }
  std::string name() const { return "ImageBlock.load"; }
};

}  // namespace fastpp
