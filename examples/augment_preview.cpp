// Shows what the chapter's augmentation does to one picture (fastai's show_batch(unique=True)):
//   augment_preview photo.jpg [preview.svg]
// The photo is presized on the "CPU" side (Resize(460), random crop), copied 8 times, and each copy gets its
// own draw of aug_transforms(size=224, min_scale=0.75): one coordinate map and one resample per image.
#include <fastpp/vision/image.hpp>
#include <fastpp/vision/show_batch.hpp>
#include <fastpp/vision/transforms.hpp>

#include <cstdio>
#include <exception>
#include <sstream>

int main(int argc, char** argv) {
  using namespace fastpp;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s IMAGE [OUT.svg]\n", argv[0]);
    return 2;
  }
  const std::string out = argc > 2 ? argv[2] : "preview.svg";
  try {
    ItemContext item{Split::train, Rng(42, 0), 0};
    const Image presized = Resize{460}(load_image(argv[1]), item);
    const std::int64_t n = 8, per = presized.numel();
    auto batch_u8 = Tensor<std::uint8_t>::empty(Shape{n, 460, 460, 3});
    for (std::int64_t i = 0; i < n; ++i) std::copy(presized.begin(), presized.end(), batch_u8.data() + i * per);

    const auto [affine, lighting] = aug_transforms(AugOptions{.size = 224, .min_scale = 0.75});
    BatchContext ctx;
    ctx.seed = 42;
    const Tensor<float> augmented = lighting(affine(int_to_float(batch_u8), ctx), ctx);

    std::vector<std::string> captions;
    const auto draws = affine.draws(n, 460, 460, ctx);
    for (std::int64_t i = 0; i < n; ++i) {
      const AffineDraw& d = draws[static_cast<std::size_t>(i)];
      const LightingDraw l = lighting.draw_for(ctx, i);
      std::ostringstream c;
      c.precision(3);
      c << (d.flip < 0 ? "flip, " : "") << "rot " << d.rotate_deg << ", zoom " << d.zoom << ", crop "
        << d.crop.width << "px, b " << l.brightness << ", c " << l.contrast;
      captions.push_back(c.str());
    }
    show_batch(augmented, captions, out, ShowBatchOptions{.ncols = 4, .max_n = 8, .cell_px = 224, .font_px = 11});
    std::printf("%s: %s, presized to 460, 8 augmented views of 224 x 224 -> %s\n", argv[1],
                presized.shape().str().c_str(), out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
