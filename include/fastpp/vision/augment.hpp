#pragma once
// Batch augmentation (fastai's aug_transforms) on NHWC float batches in [0, 1], with presizing done right:
// flip (or dihedral), perspective warp, rotation, zoom AND the random resized crop are composed into one
// coordinate map per image, and each image is interpolated exactly once (bilinear, reflection padding,
// align_corners=True, as fastai's grid_sample).
//
//   batch_tfms(aug_transforms({.size = 224, .min_scale = 0.75}), Normalize::from_stats(imagenet_stats))
//
// Deliberate improvements over fastai (docs/vision.md):
//  * fastai with min_scale < 1 resamples twice (the affine at the input size, then RandomResizedCropGPU's
//    crop and resize) and draws ONE crop for the whole batch; here the crop is folded into the map, so each
//    image gets its own crop and a single interpolation.
//  * Every random draw comes from a counter-based stream per image (BatchContext::item_rng), so the batch is
//    the same whatever the number of threads.
// Not done: fastai's area pre-downsampling when the map shrinks by more than 2x (its grid_sample "hack");
// shrink in the item transform (Resize, antialiased like PIL) instead, as the presizing recipe does.
#include <array>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "../backend/augment_batch.hpp"
#include "../backend/cpu/image_kernels.hpp"
#include "../core/error.hpp"
#include "../core/rng.hpp"
#include "../core/tensor.hpp"
#include "../core/thread_pool.hpp"
#include "transform.hpp"
#include "transform_spec.hpp"
#include "coord_math.hpp"
#include "resample.hpp"
#include "types.hpp"

namespace fastpp {

// One image's lighting as its pixels take it: logit(brightness) and the contrast, in float.
using ImageLighting = backend::ImageLighting;

// aug_transforms' options, with fastai's defaults. `size` is the output size (empty keeps the input's);
// min_scale < 1 adds the random resized crop (square, as fastai's RandomResizedCropGPU with ratio (1, 1)).
struct AugOptions {
  SizeHW size{};
  double min_scale = 1.0;
  bool do_flip = true;
  bool flip_vert = false;  // true: one of the 8 dihedral symmetries instead of a horizontal flip
  double max_rotate = 10.0;
  double min_zoom = 1.0;
  double max_zoom = 1.1;
  double max_lighting = 0.2;
  double max_warp = 0.2;
  double p_affine = 0.75;
  double p_lighting = 0.75;
  SampleMode mode = SampleMode::bilinear;
  PadMode pad_mode = PadMode::reflection;
  double mult = 1.0;  // scales max_rotate, max_lighting and max_warp (not the zoom), as fastai

  void validate() const {
    check(min_scale > 0 && min_scale <= 1, "aug_transforms: min_scale must be in (0, 1], got ", min_scale);
    check(min_scale == 1 || !size.empty(), "aug_transforms: min_scale < 1 needs an output size (.size = ...)");
    check(min_zoom > 0 && min_zoom <= max_zoom, "aug_transforms: need 0 < min_zoom <= max_zoom, got ", min_zoom,
          " and ", max_zoom);
    check(max_lighting * mult >= 0 && max_lighting * mult < 1,
          "aug_transforms: max_lighting * mult must be in [0, 1), got ", max_lighting * mult);
    check(max_warp * mult >= 0 && max_warp * mult < 1, "aug_transforms: max_warp * mult must be in [0, 1), got ",
          max_warp * mult);
    check(max_rotate * mult >= 0, "aug_transforms: max_rotate must not be negative, got ", max_rotate * mult);
    check(p_affine >= 0 && p_affine <= 1 && p_lighting >= 0 && p_lighting <= 1,
          "aug_transforms: probabilities must be in [0, 1], got p_affine = ", p_affine, ", p_lighting = ", p_lighting);
    check(size.h >= 0 && size.w >= 0, "aug_transforms: negative size ", size.h, " x ", size.w);
  }
};

// One image's geometric draw. Neutral values are the identity.
struct AffineDraw {
  double flip = 1;   // -1: horizontal flip
  int dihedral = 0;  // 0..7 (flip_vert), 0: identity
  double warp_x = 0, warp_y = 0;
  double rotate_deg = 0;
  double zoom = 1, zoom_cx = 0.5, zoom_cy = 0.5;
  CropBox crop{};  // in pixels of the input (fastai: of the affine's input-sized output)
};

namespace detail {
inline double uniform(Rng& r, double lo, double hi) { return lo + (hi - lo) * r.uniform_double(); }

// fastai's RandomResizedCropGPU box with ratio (1, 1) and max_scale 1 (squares), for an h x w input.
inline CropBox square_crop(std::int64_t h, std::int64_t w, double min_scale, Rng* rng) {
  if (rng != nullptr) {
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double area = uniform(*rng, min_scale, 1.0) * static_cast<double>(w) * static_cast<double>(h);
      const std::int64_t side = std::max<std::int64_t>(1, round_half_even(std::sqrt(area)));
      if (side > w || side > h) continue;
      const auto left = static_cast<std::int64_t>(rng->below(static_cast<std::uint32_t>(w - side + 1)));
      const auto top = static_cast<std::int64_t>(rng->below(static_cast<std::uint32_t>(h - side + 1)));
      return CropBox{left, top, side, side};
    }
  }
  const std::int64_t side = std::min(w, h);  // the largest centred square (fastai's fallback and valid crop)
  return CropBox{(w - side) / 2, (h - side) / 2, side, side};
}
}  // namespace detail

// The random draw of one training image (a fixed number of numbers for given options, so streams stay aligned).
inline AffineDraw draw_affine(const AugOptions& o, std::int64_t in_h, std::int64_t in_w, Rng& rng) {
  AffineDraw d;
  if (o.do_flip) {
    if (o.flip_vert) {
      const bool apply = rng.bernoulli(0.5f);
      const int k = static_cast<int>(rng.below(8));
      d.dihedral = apply ? k : 0;
    } else {
      d.flip = rng.bernoulli(0.5f) ? -1.0 : 1.0;
    }
  }
  const double pa = o.p_affine;
  auto masked = [&](double lo, double hi, double neutral) {
    const bool apply = rng.uniform_double() < pa;
    const double v = detail::uniform(rng, lo, hi);
    return apply ? v : neutral;
  };
  const double mag = o.max_warp * o.mult;
  if (mag > 0) {
    d.warp_x = masked(-mag, mag, 0.0);
    d.warp_y = masked(-mag, mag, 0.0);
  }
  const double deg = o.max_rotate * o.mult;
  if (deg > 0) d.rotate_deg = masked(-deg, deg, 0.0);
  if (o.min_zoom < 1 || o.max_zoom > 1) {
    d.zoom = masked(o.min_zoom, o.max_zoom, 1.0);
    d.zoom_cx = rng.uniform_double();
    d.zoom_cy = rng.uniform_double();
  }
  d.crop = o.min_scale < 1 ? detail::square_crop(in_h, in_w, o.min_scale, &rng) : CropBox{0, 0, in_w, in_h};
  return d;
}

// The validation "draw": no augmentation; the centred square crop when min_scale < 1 (fastai's
// RandomResizedCropGPU on valid), else the whole frame. Either way a plain resize to the output size.
inline AffineDraw valid_affine(const AugOptions& o, std::int64_t in_h, std::int64_t in_w) {
  AffineDraw d;
  d.crop = o.min_scale < 1 ? detail::square_crop(in_h, in_w, o.min_scale, nullptr) : CropBox{0, 0, in_w, in_h};
  return d;
}

// The composed affine matrix of fastai (flip or dihedral, then rotate, then zoom; aspect corrected for an
// in_h x in_w input), in normalised coordinates.
inline Mat3 affine_matrix(const AffineDraw& d, std::int64_t in_h, std::int64_t in_w) {
  const Mat3 f = d.dihedral != 0 ? dihedral_matrix(d.dihedral) : flip_matrix(d.flip);
  const Mat3 m = f * rotate_matrix(d.rotate_deg) * zoom_matrix(d.zoom, d.zoom_cx, d.zoom_cy);
  return aspect_corrected(m, static_cast<double>(in_h), static_cast<double>(in_w));
}

// Output pixel (column, row) of an out_h x out_w image -> normalised coordinates of the crop box inside the
// in_h x in_w frame (RandomResizedCropGPU's slice and identity resample, align_corners=True).
inline Mat3 crop_matrix(const CropBox& c, std::int64_t in_h, std::int64_t in_w, std::int64_t out_h,
                        std::int64_t out_w) {
  const double sx = out_w > 1 ? static_cast<double>(c.width - 1) / static_cast<double>(out_w - 1) : 0.0;
  const double sy = out_h > 1 ? static_cast<double>(c.height - 1) / static_cast<double>(out_h - 1) : 0.0;
  const Mat3 to_frame = mat3_affine(sx, 0, static_cast<double>(c.left), 0, sy, static_cast<double>(c.top));
  return pixel_to_normalised(static_cast<double>(in_h), static_cast<double>(in_w)) * to_frame;
}

// One image's sampling map in pixels: output (column, row) -> input (x, y) = pixels(warp(affine(crop(p)))).
inline CoordMap coord_map(const AffineDraw& d, std::int64_t in_h, std::int64_t in_w, std::int64_t out_h,
                          std::int64_t out_w) {
  const Mat3 to_px = normalised_to_pixel(static_cast<double>(in_h), static_cast<double>(in_w));
  const Mat3 unwarped = to_px * affine_matrix(d, in_h, in_w) * crop_matrix(d.crop, in_h, in_w, out_h, out_w);
  bool ok = true;
  const Mat3 h = (d.warp_x != 0 || d.warp_y != 0) ? warp_homography(d.warp_x, d.warp_y, ok) : mat3_identity();
  const Mat3 warped =
      to_px * (ok ? h : mat3_identity()) * affine_matrix(d, in_h, in_w) * crop_matrix(d.crop, in_h, in_w, out_h, out_w);
  CoordMap m{};
  for (int i = 0; i < 9; ++i) m.warped[i] = static_cast<float>(warped.m[i / 3][i % 3]);
  for (int i = 0; i < 6; ++i) m.unwarped[i] = static_cast<float>(unwarped.m[i / 3][i % 3]);
  return m;
}

// Resamples one HWC float RGB image through `map` (rows [row_begin, row_end) of the output): the cpu
// backend's loop (backend/cpu/image_kernels.hpp).
inline void resample_rows(const float* in, int in_h, int in_w, float* out, int out_w, const CoordMap& map,
                          SampleMode mode, PadMode pad, std::int64_t row_begin, std::int64_t row_end) {
  backend::image_kernels::grid_sample_rows_rgb(in, in_h, in_w, out, out_w, map, mode, pad, row_begin, row_end);
}

namespace detail {
inline void check_batch(const Tensor<float>& b, const char* who) {
  check<ShapeError>(b.defined() && b.rank() == 4 && b.size(3) == 3 && b.size(0) > 0 && b.size(1) > 0 && b.size(2) > 0,
                    who, " needs an NHWC RGB batch [N, H, W, 3], got ",
                    b.defined() ? b.shape().str() : std::string("none"));
}
// A stream for image i independent of item_rng(i) (another Philox key): lighting draws do not repeat the
// geometric draws.
inline Rng salted(const Rng& r, std::uint64_t salt) { return Rng(r.seed() ^ salt, r.stream()); }

// AffineCoordTfm's pass: dst[n, out_h, out_w, 3] = each image of in[n, h, w, 3] resampled through its map,
// the rows of the batch split over the threads.
inline void resample_batch(const float* in, std::int64_t n, std::int64_t h, std::int64_t w, std::int64_t out_h,
                           std::int64_t out_w, const std::vector<CoordMap>& maps, SampleMode mode, PadMode pad,
                           float* dst) {
  const std::int64_t rows = n * out_h;
  parallel_for(0, rows, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(out_w, 1)),
               [&](std::int64_t b, std::int64_t e) {
                 for (std::int64_t r = b; r < e;) {
                   const std::int64_t img = r / out_h, row = r % out_h;
                   const std::int64_t stop = std::min(e, (img + 1) * out_h);
                   resample_rows(in + img * h * w * 3, static_cast<int>(h), static_cast<int>(w),
                                 dst + img * out_h * out_w * 3, static_cast<int>(out_w),
                                 maps[static_cast<std::size_t>(img)], mode, pad, row, row + (stop - r));
                   r = stop;
                 }
               });
}

// LightingTfm's pass: dst = src with image i's lighting applied to its `per` values, for the n images.
inline void lighting_batch(const float* src, float* dst, std::int64_t n, std::int64_t per,
                           const std::vector<ImageLighting>& lighting) {
  for (std::int64_t i = 0; i < n; ++i) {
    const ImageLighting& l = lighting[static_cast<std::size_t>(i)];
    const float* s = src + i * per;
    float* d = dst + i * per;
    parallel_for(0, per, 16384, [&](std::int64_t b, std::int64_t e) {
      backend::image_kernels::lighting_span(s + b, d + b, e - b, l.brightness_logit, l.contrast);
    });
  }
}

// Normalize's pass over `pixels` RGB pixels: dst = src * scale[c] + shift[c].
inline void channel_affine_batch(const float* src, float* dst, std::int64_t pixels, const float* scale,
                                 const float* shift) {
  parallel_for(0, pixels, 16384, [&](std::int64_t b, std::int64_t e) {
    backend::image_kernels::channel_affine_rgb_span(src + b * 3, dst + b * 3, e - b, scale, shift);
  });
}
}  // namespace detail

// The geometric part of aug_transforms (order 30; fastai's composite Flip/Warp/Rotate/Zoom AffineCoordTfm
// plus RandomResizedCropGPU). Train: a random map per image; valid: only the resize (and centre crop).
struct AffineCoordTfm {
  AugOptions opts{};

  static constexpr int order = 30;

  SizeHW output_size(std::int64_t in_h, std::int64_t in_w) const {
    return opts.size.empty() ? SizeHW{in_h, in_w} : opts.size;
  }

  // The maps a batch of n images of in_h x in_w uses in this context (exposed for tests and summary()).
  std::vector<AffineDraw> draws(std::int64_t n, std::int64_t in_h, std::int64_t in_w, const BatchContext& ctx) const {
    std::vector<AffineDraw> d(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      if (ctx.split == Split::train) {
        Rng r = ctx.item_rng(i);
        d[static_cast<std::size_t>(i)] = draw_affine(opts, in_h, in_w, r);
      } else {
        d[static_cast<std::size_t>(i)] = valid_affine(opts, in_h, in_w);
      }
    }
    return d;
  }

  // The sampling maps of a batch of n images of in_h x in_w in this context: one per image, from draws().
  std::vector<CoordMap> maps(std::int64_t n, std::int64_t in_h, std::int64_t in_w, const BatchContext& ctx) const {
    const SizeHW out = output_size(in_h, in_w);
    std::vector<CoordMap> m;
    m.reserve(static_cast<std::size_t>(n));
    for (const AffineDraw& d : draws(n, in_h, in_w, ctx)) m.push_back(coord_map(d, in_h, in_w, out.h, out.w));
    return m;
  }

  // The same as operator()(IntToFloat(batch), ctx), bit for bit, from the uint8 batch the collation made:
  // each image is turned into floats (pixel / 255, IntToFloat's division) just before it is resampled, in a
  // per-thread buffer, instead of the whole batch first. A batch of 64 presized 460 x 460 images is 162 MB
  // as floats: converted whole, it has left the caches before the resample reads it back, and the
  // resample's scattered reads then wait on main memory (two thirds of the step's time, measured; the
  // loader takes this path when this transform comes first: data/dataloader.hpp).
  Tensor<float> from_u8(const Tensor<std::uint8_t>& batch, BatchContext& ctx) const {
    opts.validate();
    check<ShapeError>(batch.defined() && batch.rank() == 4 && batch.size(3) == 3 && batch.size(0) > 0 &&
                          batch.size(1) > 0 && batch.size(2) > 0,
                      "aug_transforms (AffineCoordTfm) needs an NHWC RGB batch [N, H, W, 3], got ",
                      batch.defined() ? batch.shape().str() : std::string("none"));
    const std::int64_t n = batch.size(0), h = batch.size(1), w = batch.size(2), per = h * w * 3;
    const SizeHW out = output_size(h, w);
    const std::vector<CoordMap> maps = this->maps(n, h, w, ctx);
    auto res = Tensor<float>::empty(Shape{n, out.h, out.w, 3});
    const std::uint8_t* in = batch.data();
    float* dst = res.data();
    parallel_for(0, n, 1, [&](std::int64_t b, std::int64_t e) {
      thread_local std::vector<float> img;
      img.resize(static_cast<std::size_t>(per));
      for (std::int64_t i = b; i < e; ++i) {
        backend::image_kernels::u8_to_unit_float_span(in + i * per, img.data(), per);
        resample_rows(img.data(), static_cast<int>(h), static_cast<int>(w), dst + i * out.h * out.w * 3,
                      static_cast<int>(out.w), maps[static_cast<std::size_t>(i)], opts.mode, opts.pad_mode, 0, out.h);
      }
    });
    return res;
  }

  Tensor<float> operator()(Tensor<float> batch, BatchContext& ctx) const {
    opts.validate();
    detail::check_batch(batch, "aug_transforms (AffineCoordTfm)");
    const std::int64_t n = batch.size(0), h = batch.size(1), w = batch.size(2);
    const SizeHW out = output_size(h, w);
    auto res = Tensor<float>::empty(Shape{n, out.h, out.w, 3});
    detail::resample_batch(batch.data(), n, h, w, out.h, out.w, maps(n, h, w, ctx), opts.mode, opts.pad_mode,
                           res.data());
    return res;
  }

  std::string name() const {
    std::ostringstream os;
    os << "AffineCoordTfm -- {";
    if (opts.do_flip) os << (opts.flip_vert ? "dihedral p=0.5, " : "flip p=0.5, ");
    if (opts.max_warp * opts.mult > 0) os << "warp " << opts.max_warp * opts.mult << ", ";
    if (opts.max_rotate * opts.mult > 0) os << "rotate " << opts.max_rotate * opts.mult << " deg, ";
    if (opts.min_zoom < 1 || opts.max_zoom > 1) os << "zoom " << opts.min_zoom << "-" << opts.max_zoom << ", ";
    os << "p_affine " << opts.p_affine << ", ";
    if (opts.min_scale < 1) os << "random resized crop min_scale " << opts.min_scale << ", ";
    os << "size " << (opts.size.empty() ? std::string("input") : opts.size.str()) << ", " << to_string(opts.mode)
       << ", pad " << to_string(opts.pad_mode) << ", align_corners, one resample per image}";
    return os.str();
  }

  // Its validation behaviour as text, for an exported learner (transform_spec.hpp): the output size, the
  // centre crop (min_scale < 1), the sampler and the padding. from_spec rebuilds a transform without any
  // augmentation, which gives the same validation output.
  std::string spec() const {
    return TransformSpec{"AffineCoordTfm"}.set("size", spec_size(opts.size)).set("min_scale", spec_number(opts.min_scale))
        .set("mode", to_string(opts.mode)).set("pad_mode", to_string(opts.pad_mode)).str();
  }
  static AffineCoordTfm from_spec(const TransformSpec& s) {
    s.only({"size", "min_scale", "mode", "pad_mode"});
    AugOptions o;
    o.size = s.size("size");
    o.min_scale = s.number<double>("min_scale");
    o.mode = s.choice("mode", {SampleMode::bilinear, SampleMode::nearest});
    o.pad_mode = s.choice("pad_mode", {PadMode::zeros, PadMode::border, PadMode::reflection});
    o.do_flip = false;
    o.max_rotate = o.max_lighting = o.max_warp = 0;
    o.max_zoom = 1;
    try {
      o.validate();
    } catch (const ValueError& e) {
      throw ValueError(detail::msg("transform spec \"", s.str(), "\": ", e.what()));
    }
    return AffineCoordTfm{o};
  }
};

// One image's lighting draw: brightness b (neutral 0.5) and contrast c (neutral 1).
struct LightingDraw {
  double brightness = 0.5, contrast = 1.0;
};

// Brightness and contrast in logit space (order 40, train only): x <- sigmoid((logit(x) + logit(b)) * c).
struct LightingTfm {
  double max_lighting = 0.2;
  double p = 0.75;

  static constexpr int order = 40;
  static constexpr std::uint64_t salt = 0x4C49474854ull;  // "LIGHT": the key offset of the lighting streams

  LightingDraw draw(Rng& rng) const {
    LightingDraw d;
    if (max_lighting <= 0) return d;
    const bool b_apply = rng.uniform_double() < p;
    const double b = detail::uniform(rng, 0.5 * (1 - max_lighting), 0.5 * (1 + max_lighting));
    const bool c_apply = rng.uniform_double() < p;
    const double c = std::exp(detail::uniform(rng, std::log(1 - max_lighting), -std::log(1 - max_lighting)));
    d.brightness = b_apply ? b : 0.5;
    d.contrast = c_apply ? c : 1.0;
    return d;
  }

  LightingDraw draw_for(const BatchContext& ctx, std::int64_t i) const {
    Rng r = detail::salted(ctx.item_rng(i), salt);
    return draw(r);
  }

  // Whether it changes a batch in this context (train split, max_lighting > 0): then every image is mapped,
  // a neutral draw included (the map with b = 0.5, c = 1 clamps to [1e-7, 1 - 1e-7]).
  bool active(const BatchContext& ctx) const {
    check(max_lighting >= 0 && max_lighting < 1, "LightingTfm: max_lighting must be in [0, 1), got ", max_lighting);
    return ctx.split == Split::train && max_lighting > 0;
  }

  // The lightings the n images of a batch take in this context as the pixels take them (in float), or none
  // when it is not active.
  std::vector<ImageLighting> lightings(std::int64_t n, const BatchContext& ctx) const {
    std::vector<ImageLighting> out;
    if (!active(ctx)) return out;
    out.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      const LightingDraw d = draw_for(ctx, i);
      out.push_back(ImageLighting{logit_clamped(static_cast<float>(d.brightness)), static_cast<float>(d.contrast)});
    }
    return out;
  }

  Tensor<float> operator()(Tensor<float> batch, BatchContext& ctx) const {
    detail::check_batch(batch, "LightingTfm");
    if (!active(ctx)) return batch;
    const std::int64_t n = batch.size(0), per = batch.numel() / n;
    auto res = Tensor<float>::empty(batch.shape());
    detail::lighting_batch(batch.data(), res.data(), n, per, lightings(n, ctx));
    return res;
  }

  std::string name() const {
    std::ostringstream os;
    os << "LightingTfm -- {brightness and contrast in logit space, max_lighting " << max_lighting << ", p " << p << "}";
    return os.str();
  }

  // On the validation split it changes nothing, so its text has no entries (transform_spec.hpp); from_spec
  // rebuilds a LightingTfm that changes nothing on either split.
  std::string spec() const { return TransformSpec{"LightingTfm"}.str(); }
  static LightingTfm from_spec(const TransformSpec& s) {
    s.only({});
    return LightingTfm{0.0, 0.0};
  }
};

// fastai's aug_transforms: the geometric transform (order 30) and the lighting (order 40), in a tuple that
// batch_tfms(...) flattens.
inline std::tuple<AffineCoordTfm, LightingTfm> aug_transforms(const AugOptions& o = {}) {
  o.validate();
  return {AffineCoordTfm{o}, LightingTfm{o.max_lighting * o.mult, o.p_lighting}};
}

// ---- IntToFloat and Normalize --------------------------------------------------------------------------
// uint8 NHWC (or HWC) pixels -> float in [0, 1] (fastai's IntToFloatTensor, order 10, done by the loader).
inline Tensor<float> int_to_float(const Tensor<std::uint8_t>& x) {
  check<ShapeError>(x.defined(), "int_to_float: undefined tensor");
  auto out = Tensor<float>::empty(x.shape());
  const std::uint8_t* s = x.data();
  float* d = out.data();
  parallel_for(0, x.numel(), 65536, [&](std::int64_t b, std::int64_t e) {
    backend::image_kernels::u8_to_unit_float_span(s + b, d + b, e - b);  // a division, as fastai: bit-equal
  });
  return out;
}

// float in [0, 1] -> uint8 (clamped, rounded to nearest), for showing and saving.
inline Tensor<std::uint8_t> float_to_uint8(const Tensor<float>& x) {
  check<ShapeError>(x.defined(), "float_to_uint8: undefined tensor");
  auto out = Tensor<std::uint8_t>::empty(x.shape());
  backend::image_kernels::unit_float_to_u8_span(x.data(), out.data(), x.numel());  // NaN -> 0
  return out;
}

// Per-channel statistics for Normalize.
struct ChannelStats {
  std::array<float, 3> mean;
  std::array<float, 3> std;
};
inline constexpr ChannelStats imagenet_stats{{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
inline constexpr ChannelStats cifar_stats{{0.491f, 0.482f, 0.447f}, {0.247f, 0.243f, 0.261f}};
inline constexpr ChannelStats mnist_stats{{0.131f, 0.131f, 0.131f}, {0.308f, 0.308f, 0.308f}};  // grey, replicated

// (x - mean) / std per channel of an NHWC batch (order 99, train and valid). decode() undoes it.
struct Normalize {
  std::array<float, 3> mean{0, 0, 0};
  std::array<float, 3> std{1, 1, 1};

  static constexpr int order = 99;

  static Normalize from_stats(const ChannelStats& s) {
    for (int c = 0; c < 3; ++c)
      check(s.std[static_cast<std::size_t>(c)] > 0, "Normalize: std of channel ", c, " must be positive, got ",
            s.std[static_cast<std::size_t>(c)]);
    return Normalize{s.mean, s.std};
  }

  Tensor<float> operator()(Tensor<float> batch, BatchContext&) const { return apply(batch, false); }
  Tensor<float> decode(const Tensor<float>& batch) const { return apply(batch, true); }

  // The per-channel map as x * scale[c] + shift[c] (inverse: decode's).
  void affine(float* scale, float* shift, bool inverse = false) const {
    for (std::size_t c = 0; c < 3; ++c) {
      scale[c] = inverse ? std[c] : 1.0f / std[c];
      shift[c] = inverse ? mean[c] : -mean[c] / std[c];
    }
  }

  std::string name() const {
    std::ostringstream os;
    os << "Normalize -- {mean: (" << mean[0] << ", " << mean[1] << ", " << mean[2] << "), std: (" << std[0] << ", "
       << std[1] << ", " << std[2] << ")}";
    return os.str();
  }

  // As text, exactly (transform_spec.hpp); from_spec rebuilds the same Normalize.
  std::string spec() const {
    return TransformSpec{"Normalize"}.set("mean", spec_numbers(mean)).set("std", spec_numbers(std)).str();
  }
  static Normalize from_spec(const TransformSpec& s) {
    s.only({"mean", "std"});
    const Normalize n{s.numbers<float, 3>("mean"), s.numbers<float, 3>("std")};
    for (float v : n.std) check(v > 0, "transform spec \"", s.str(), "\": Normalize's std must be positive");
    return n;
  }

 private:
  Tensor<float> apply(const Tensor<float>& batch, bool inverse) const {
    check<ShapeError>(batch.defined() && batch.size(-1) == 3, "Normalize needs channels-last RGB data [..., 3], got ",
                      batch.defined() ? batch.shape().str() : std::string("none"));
    auto out = Tensor<float>::empty(batch.shape());
    float scale[3], shift[3];
    affine(scale, shift, inverse);
    detail::channel_affine_batch(batch.data(), out.data(), batch.numel() / 3, scale, shift);
    return out;
  }
};

// ---- a batch's augmentation as parameters ---------------------------------------------------------------
// What the batch transforms draw and compose on the host for a batch of n images of in_h x in_w in `ctx`
// (the same draws, from the same per-image streams, as their calls): AffineCoordTfm's maps, LightingTfm's
// lightings (none when `lighting` is null or not active in ctx) and Normalize's affine (none when `norm`
// is null). run_augment applies it on the cpu, bit for bit as the transforms' calls one after the other;
// a device kernel takes the same parameters (backend/cuda/image.hpp: cuda_kernels::augment_batch).
using AugmentBatch = backend::AugmentBatch;

inline AugmentBatch augment_params(const AffineCoordTfm& affine, const LightingTfm* lighting, const Normalize* norm,
                                   std::int64_t n, std::int64_t in_h, std::int64_t in_w, const BatchContext& ctx) {
  affine.opts.validate();
  check<ShapeError>(n > 0 && in_h > 0 && in_w > 0, "augment_params: need a non-empty batch, got ", n, " images of ",
                    in_h, " x ", in_w);
  AugmentBatch p;
  p.n = n;
  p.in_h = in_h;
  p.in_w = in_w;
  const SizeHW out = affine.output_size(in_h, in_w);
  p.out_h = out.h;
  p.out_w = out.w;
  p.mode = affine.opts.mode;
  p.pad = affine.opts.pad_mode;
  p.maps = affine.maps(n, in_h, in_w, ctx);
  if (lighting != nullptr) p.lighting = lighting->lightings(n, ctx);
  if (norm != nullptr) {
    p.normalize = true;
    norm->affine(p.scale, p.shift);
  }
  return p;
}

// The cpu's passes of `p` over an NHWC RGB float batch [p.n, p.in_h, p.in_w, 3]: the resample, then the
// lighting, then Normalize's affine, each as the transform's call runs it.
inline Tensor<float> run_augment(const Tensor<float>& batch, const AugmentBatch& p) {
  detail::check_batch(batch, "run_augment");
  check<ShapeError>(p.consistent() && batch.size(0) == p.n && batch.size(1) == p.in_h && batch.size(2) == p.in_w,
                    "run_augment: parameters for ", p.n, " images of ", p.in_h, " x ", p.in_w, " (", p.maps.size(),
                    " maps, ", p.lighting.size(), " lightings) do not fit the batch ", batch.shape().str());
  auto res = Tensor<float>::empty(Shape{p.n, p.out_h, p.out_w, 3});
  detail::resample_batch(batch.data(), p.n, p.in_h, p.in_w, p.out_h, p.out_w, p.maps, p.mode, p.pad, res.data());
  if (p.has_lighting()) {
    auto lit = Tensor<float>::empty(res.shape());
    detail::lighting_batch(res.data(), lit.data(), p.n, p.out_h * p.out_w * 3, p.lighting);
    res = lit;
  }
  if (p.normalize) {
    auto normed = Tensor<float>::empty(res.shape());
    detail::channel_affine_batch(res.data(), normed.data(), p.n * p.out_h * p.out_w, p.scale, p.shift);
    res = normed;
  }
  return res;
}

static_assert(BatchTransform<AffineCoordTfm>, "AffineCoordTfm must satisfy the BatchTransform contract");
static_assert(BatchTransform<LightingTfm>, "LightingTfm must satisfy the BatchTransform contract");
static_assert(BatchTransform<Normalize>, "Normalize must satisfy the BatchTransform contract");

}  // namespace fastpp
