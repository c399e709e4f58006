// libFuzzer target: decode untrusted bytes, then run them through the item and batch transforms.
// A crash, a sanitizer report, a hang or an exception other than fastpp::Error is a bug; a FormatError is
// the expected answer to bad bytes. Seed corpus: fuzz/corpus/decode/ (tiny valid and broken images).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <fastpp/vision/image.hpp>
#include <fastpp/vision/transforms.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fastpp;
  DecodeOptions opts;
  opts.limits.max_pixels = 1 << 20;  // keep each run fast; the limit itself is part of what is fuzzed
  opts.limits.max_side = 4096;
  Image img;
  try {
    img = decode_image(data, size, "fuzz input", opts);
  } catch (const FormatError&) {
    return 0;
  }
  // The first bytes pick the transforms' parameters, so the fuzzer explores them too.
  const std::uint8_t k = size > 20 ? data[20] : 0;
  Rng rng(size, k);
  ItemContext item{(k & 1) ? Split::train : Split::valid, rng, 0};
  const auto method = static_cast<ResizeMethod>(k % 3);
  const auto pad = static_cast<PadMode>((k / 3) % 3);
  const Image resized = Resize{.size = SizeHW{1 + k % 17, 1 + (k / 17) % 13}, .method = method, .pad_mode = pad}(img, item);
  const Image cropped = RandomResizedCrop{.size = 1 + k % 11, .min_scale = 0.05}(img, item);
  auto batch = int_to_float(cropped).reshape(Shape{1, cropped.size(0), cropped.size(1), 3});
  BatchContext ctx;
  ctx.split = item.split;
  ctx.seed = k;
  const auto [aff, light] = aug_transforms(AugOptions{.size = 1 + k % 9, .min_scale = (k & 2) ? 0.3 : 1.0,
                                                      .flip_vert = (k & 4) != 0, .pad_mode = pad});
  batch = light(aff(batch, ctx), ctx);
  batch = Normalize::from_stats(imagenet_stats)(batch, ctx);
  // Encoding what was decoded and decoding it again gives the same pixels.
  const Image again = decode_image(encode_png(resized), "re-encoded");
  if (!std::equal(again.begin(), again.end(), resized.begin())) __builtin_trap();
  return 0;
}
