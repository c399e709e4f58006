#pragma once
// Item transforms (run per image on a loader thread, order 1): Resize and RandomResizedCrop with fastai's
// semantics and PIL's pixels (see resample.hpp).
//
//   item_tfms(Resize{460})                                  crop, random on train, centred on valid
//   item_tfms(Resize{.size = 224, .method = ResizeMethod::pad, .pad_mode = PadMode::zeros})
//   item_tfms(RandomResizedCrop{.size = 224, .min_scale = 0.35})
#include <array>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>

#include "../core/error.hpp"
#include "../core/rng.hpp"
#include "transform.hpp"
#include "transform_spec.hpp"
#include "resample.hpp"
#include "types.hpp"

namespace fastpp {

namespace detail {
template <class T>
inline constexpr bool not_an_image = false;  // a dependent false, for the static_asserts below

inline void check_image(const Image& img, const char* who) {
  check<ShapeError>(img.defined() && img.rank() == 3 && img.size(2) == 3 && img.size(0) > 0 && img.size(1) > 0, who,
                    " needs an RGB image [H, W, 3], got ", img.defined() ? img.shape().str() : std::string("none"));
}
}  // namespace detail

// The region Resize takes from a w x h image for a target `size`, with the crop/pad position fractions
// (pct_x, pct_y) in [0, 1] (0.5 centres): fastai's Resize.encodes, integer truncation included.
inline CropBox resize_crop_box(std::int64_t w, std::int64_t h, SizeHW size, ResizeMethod method, double pct_x,
                               double pct_y) {
  if (method == ResizeMethod::squish) return CropBox{0, 0, w, h};
  const double rw = static_cast<double>(w) / static_cast<double>(size.w);
  const double rh = static_cast<double>(h) / static_cast<double>(size.h);
  // crop: the largest box of the target's aspect that fits; pad: the smallest that contains the image.
  const double m = method == ResizeMethod::crop ? (rw < rh ? rw : rh) : (rw > rh ? rw : rh);
  const auto cw = static_cast<std::int64_t>(m * static_cast<double>(size.w));
  const auto ch = static_cast<std::int64_t>(m * static_cast<double>(size.h));
  const auto left = static_cast<std::int64_t>(pct_x * static_cast<double>(w - cw));  // Python's int(): toward 0
  const auto top = static_cast<std::int64_t>(pct_y * static_cast<double>(h - ch));
  return CropBox{left, top, std::max<std::int64_t>(cw, 1), std::max<std::int64_t>(ch, 1)};
}

// fastai's Resize (order 1, train and valid). `crop` takes the largest region of the target's aspect ratio
// (random position on train, centred on valid), `pad` fits the whole image and pads (random placement on
// train, centred on valid), `squish` ignores the aspect ratio. Then PIL's bilinear resize to `size`.
struct Resize {
  SizeHW size{};
  ResizeMethod method = ResizeMethod::crop;
  PadMode pad_mode = PadMode::reflection;

  static constexpr int order = 1;

  // The same resize with explicit position fractions (what operator() draws: U[0,1) on train, 0.5 on valid).
  Image apply(const Image& img, double pct_x, double pct_y) const {
    detail::check_image(img, "Resize");
    check(!size.empty(), "Resize: the target size must be positive, got ", size.h, " x ", size.w);
    const CropBox box = resize_crop_box(img.size(1), img.size(0), size, method, pct_x, pct_y);
    return crop_pad_resize(img, box, size, pad_mode);
  }

  Image operator()(Image img, ItemContext& ctx) const {
    double px = 0.5, py = 0.5;
    if (method != ResizeMethod::squish && ctx.split == Split::train) {
      px = ctx.rng.uniform_double();
      py = ctx.rng.uniform_double();
    }
    return apply(img, px, py);
  }

  // Anything but an Image (a label such as a Category or a string, a float batch) gets this sentence
  // instead of "no match for call".
  template <class T>
    requires(!std::is_same_v<std::remove_cvref_t<T>, Image>)
  Image operator()(T&&, ItemContext&) const {
    static_assert(detail::not_an_image<T>,
                  "Resize is an item transform for images: it takes an Image (Tensor<uint8_t>[H,W,3]), not a label "
                  "or a batch. In a DataBlock, item_tfms(...) transform the input block's images and leave labels "
                  "as they are, so give it the image");
    return {};
  }

  // What it needs from the decoder: at least `size` in both sides (crop and squish need exactly that to
  // never enlarge; pad would do with one side, and asks for both, erring towards a larger decode).
  MinDecodeSize min_decode_size() const { return {size.h, size.w}; }

  std::string name() const {
    return std::string("Resize -- {size: ") + size.str() + ", method: " + to_string(method) +
           ", pad_mode: " + to_string(pad_mode) + ", resample: bilinear}";
  }

  // As text, for an exported learner (transform_spec.hpp); from_spec rebuilds the same Resize.
  std::string spec() const {
    return TransformSpec{"Resize"}.set("size", spec_size(size)).set("method", to_string(method))
        .set("pad_mode", to_string(pad_mode)).str();
  }
  static Resize from_spec(const TransformSpec& s) {
    s.only({"size", "method", "pad_mode"});
    const SizeHW size = s.size("size");
    check(!size.empty(), "transform spec \"", s.str(), "\": Resize needs a size");
    return Resize{size, s.choice("method", {ResizeMethod::crop, ResizeMethod::pad, ResizeMethod::squish}),
                  s.choice("pad_mode", {PadMode::zeros, PadMode::border, PadMode::reflection})};
  }
};

// fastai's RandomResizedCrop (order 1). Train: a random crop of area U(min_scale, max_scale) of the image and
// aspect ratio exp(U(log r0, log r1)) (10 attempts, then a centred crop clamped to the ratio range), resized
// to `size`. Valid: no random crop: the whole image squished to size + xtra, then the centre `size`, where
// xtra = ceil(max(size) * val_xtra / 8) * 8 (32 for 224).
struct RandomResizedCrop {
  SizeHW size{};
  double min_scale = 0.08;
  std::array<double, 2> ratio{3.0 / 4.0, 4.0 / 3.0};
  double val_xtra = 0.14;
  double max_scale = 1.0;

  static constexpr int order = 1;

  // The training crop for a w x h image (what operator() uses on train), drawn from rng.
  CropBox train_box(std::int64_t w, std::int64_t h, Rng& rng) const {
    check(min_scale > 0 && min_scale <= max_scale, "RandomResizedCrop: need 0 < min_scale <= max_scale, got ",
          min_scale, " and ", max_scale);
    check(ratio[0] > 0 && ratio[0] <= ratio[1], "RandomResizedCrop: need 0 < ratio[0] <= ratio[1], got ", ratio[0],
          " and ", ratio[1]);
    const double lr0 = std::log(ratio[0]), lr1 = std::log(ratio[1]);
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double area = (min_scale + (max_scale - min_scale) * rng.uniform_double()) * static_cast<double>(w * h);
      const double r = std::exp(lr0 + (lr1 - lr0) * rng.uniform_double());
      const std::int64_t nw = detail::round_half_even(std::sqrt(area * r));
      const std::int64_t nh = detail::round_half_even(std::sqrt(area / r));
      if (nw >= 1 && nh >= 1 && nw <= w && nh <= h) {  // (fastai has no lower bound; an empty crop cannot resize)
        const auto left = static_cast<std::int64_t>(rng.below(static_cast<std::uint32_t>(w - nw + 1)));
        const auto top = static_cast<std::int64_t>(rng.below(static_cast<std::uint32_t>(h - nh + 1)));
        return CropBox{left, top, nw, nh};
      }
    }
    const double aspect = static_cast<double>(w) / static_cast<double>(h);
    std::int64_t cw = w, ch = h;
    if (aspect < ratio[0])
      ch = std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(w) / ratio[0]));
    else if (aspect > ratio[1])
      cw = std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(h) * ratio[1]));
    return CropBox{(w - cw) / 2, (h - ch) / 2, cw, ch};
  }

  // The validation output: squish to size + xtra, keep the centre.
  Image valid(const Image& img) const {
    detail::check_image(img, "RandomResizedCrop");
    const auto xtra =
        static_cast<std::int64_t>(std::ceil(static_cast<double>(std::max(size.h, size.w)) * val_xtra / 8.0)) * 8;
    const SizeHW full{size.h + xtra, size.w + xtra};
    const CropBox window{(full.w - size.w) / 2, (full.h - size.h) / 2, size.w, size.h};
    return crop_pad_resize(img, CropBox{0, 0, img.size(1), img.size(0)}, full, PadMode::zeros, window);
  }

  // A given crop box resized to `size` (the training path once the box is drawn).
  Image apply(const Image& img, const CropBox& box) const {
    detail::check_image(img, "RandomResizedCrop");
    return crop_pad_resize(img, box, size, PadMode::zeros);
  }

  Image operator()(Image img, ItemContext& ctx) const {
    detail::check_image(img, "RandomResizedCrop");
    check(!size.empty(), "RandomResizedCrop: the target size must be positive, got ", size.h, " x ", size.w);
    if (ctx.split != Split::train) return valid(img);
    return apply(img, train_box(img.size(1), img.size(0), ctx.rng));
  }

  // As Resize: anything but an Image gets a sentence instead of "no match for call".
  template <class T>
    requires(!std::is_same_v<std::remove_cvref_t<T>, Image>)
  Image operator()(T&&, ItemContext&) const {
    static_assert(detail::not_an_image<T>,
                  "RandomResizedCrop is an item transform for images: it takes an Image (Tensor<uint8_t>[H,W,3]), "
                  "not a label or a batch. In a DataBlock, item_tfms(...) transform the input block's images and "
                  "leave labels as they are, so give it the image");
    return {};
  }

  std::string name() const {
    std::ostringstream os;
    os << "RandomResizedCrop -- {size: " << size.str() << ", min_scale: " << min_scale << ", ratio: (" << ratio[0]
       << ", " << ratio[1] << "), val_xtra: " << val_xtra << ", max_scale: " << max_scale << "}";
    return os.str();
  }

  // Its validation behaviour as text, for an exported learner (transform_spec.hpp): only size and val_xtra
  // matter there. from_spec rebuilds a RandomResizedCrop with the same validation output (its training
  // crop has the default scales and ratios).
  std::string spec() const {
    return TransformSpec{"RandomResizedCrop"}.set("size", spec_size(size)).set("val_xtra", spec_number(val_xtra)).str();
  }
  static RandomResizedCrop from_spec(const TransformSpec& s) {
    s.only({"size", "val_xtra"});
    RandomResizedCrop t;
    t.size = s.size("size");
    check(!t.size.empty(), "transform spec \"", s.str(), "\": RandomResizedCrop needs a size");
    t.val_xtra = s.number<double>("val_xtra");
    return t;
  }
};

static_assert(ItemTransform<Resize>, "Resize must satisfy the ItemTransform contract of vision/transform.hpp");
static_assert(ItemTransform<RandomResizedCrop>,
              "RandomResizedCrop must satisfy the ItemTransform contract of vision/transform.hpp");

}  // namespace fastpp
