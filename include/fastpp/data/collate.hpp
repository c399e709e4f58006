#pragma once
// Collation: same-sized images -> one NHWC uint8 batch, and IntToFloat (uint8 -> float in [0, 1]).
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "../backend/cpu/image_kernels.hpp"
#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../vision/transform.hpp"

namespace fastpp {

// Stacks images [H, W, 3] into [N, H, W, 3]. Images of different sizes cannot share a batch: the error
// names the first two that differ (by `names`, when given) and the fix.
inline Tensor<std::uint8_t, cpu> collate_images(const std::vector<Image>& images,
                                                 const std::vector<std::filesystem::path>& names = {}) {
  check(!images.empty(), "collate: no images to put in a batch");
  const Shape& s0 = images[0].shape();
  check<ShapeError>(s0.rank() == 3 && s0[2] == 3, "collate: an image is [H, W, 3], got ", s0,
                    names.empty() ? std::string() : detail::msg(" for ", names[0].string()));
  for (std::size_t i = 1; i < images.size(); ++i) {
    if (!(images[i].shape() == s0)) {
      std::ostringstream os;
      os << "Could not collate the items in a batch because they have different sizes: item 0";
      if (names.size() > i) os << " (" << names[0].string() << ")";
      os << " is " << s0 << " and item " << i;
      if (names.size() > i) os << " (" << names[i].string() << ")";
      os << " is " << images[i].shape()
         << ". Add an item transform that gives every image the same size, e.g. item_tfms(Resize{460})";
      throw ShapeError(os.str());
    }
  }
  const auto n = static_cast<std::int64_t>(images.size());
  auto batch = Tensor<std::uint8_t, cpu>::empty({n, s0[0], s0[1], s0[2]});
  const std::size_t per = static_cast<std::size_t>(s0.numel());
  for (std::int64_t i = 0; i < n; ++i)
    std::memcpy(batch.data() + static_cast<std::size_t>(i) * per, images[static_cast<std::size_t>(i)].data(), per);
  return batch;
}

// fastai's IntToFloatTensor (order 10): pixels / 255, so a batch transform sees floats in [0, 1].
struct IntToFloat {
  static constexpr int order = 10;
  Tensor<float, cpu> operator()(const Tensor<std::uint8_t, cpu>& b) const {
    auto out = Tensor<float, cpu>::empty(b.shape());
    // On the loader thread that builds the batch, not spread over the compute pool.
    backend::image_kernels::u8_to_unit_float_span(b.data(), out.data(), b.numel());
    return out;
  }
  std::string name() const { return "IntToFloat -- {'div': 255.0}"; }
};

}  // namespace fastpp
