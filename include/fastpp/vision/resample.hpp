#pragma once
// Crop, pad and resize of one uint8 RGB image in a single separable pass, bit-exact with what fastai's item
// transforms do through PIL: `img.crop(box)`, torchvision's `pad` (numpy's reflect/edge/constant) and
// `img.resize(size, BILINEAR)`.
//
// PIL's BILINEAR is a triangle filter whose support widens with the shrink factor, so downscaling is
// antialiased (every source pixel contributes), unlike grid_sample's bilinear. The loop that reproduces
// PIL's algorithm is the cpu backend's (backend/cpu/image_kernels.hpp); this header checks the arguments,
// places the window and allocates the result.
#include <cstdint>

#include "../backend/cpu/image_kernels.hpp"
#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "transform.hpp"
#include "types.hpp"

namespace fastpp {

// A rectangle of an image in pixels. It may reach outside the image (then it is padded).
struct CropBox {
  std::int64_t left = 0, top = 0, width = 0, height = 0;
  friend constexpr bool operator==(const CropBox& a, const CropBox& b) {
    return a.left == b.left && a.top == b.top && a.width == b.width && a.height == b.height;
  }
};

// Crops `box` out of `img` (padding where the box leaves the image), resizes it to out_h x out_w with PIL's
// bilinear filter, and returns the part [win.top, +win.height) x [win.left, +win.width) of that result
// (the whole of it when `win` is empty). One pass over the pixels, however the box and window are placed.
inline Image crop_pad_resize(const Image& img, CropBox box, SizeHW out, PadMode pad, CropBox win = {}) {
  check<ShapeError>(img.defined() && img.rank() == 3 && img.size(2) == 3 && img.size(0) > 0 && img.size(1) > 0,
                    "crop_pad_resize needs an RGB image [H, W, 3], got ", img.shape());
  check(box.width > 0 && box.height > 0, "crop_pad_resize: empty crop box ", box.width, " x ", box.height);
  check(!out.empty(), "crop_pad_resize: empty output size ", out.h, " x ", out.w);
  if (win.width == 0 && win.height == 0) win = CropBox{0, 0, out.w, out.h};
  check(win.left >= 0 && win.top >= 0 && win.width > 0 && win.height > 0 && win.left + win.width <= out.w &&
            win.top + win.height <= out.h,
        "crop_pad_resize: window (", win.left, ", ", win.top, ", ", win.width, " x ", win.height,
        ") is not inside the output ", out.h, " x ", out.w);
  Image res = Image::empty(Shape{win.height, win.width, 3});
  backend::image_kernels::resample_pil_bilinear_rgb(
      img.data(), img.size(0), img.size(1), backend::PixelBox{box.left, box.top, box.width, box.height}, out.h, out.w,
      pad, backend::PixelBox{win.left, win.top, win.width, win.height}, res.data());
  return res;
}

}  // namespace fastpp
