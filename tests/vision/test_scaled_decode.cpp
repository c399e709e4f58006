// Issue 22: DCT-scaled JPEG decoding for presizing, and the image kernels' runtime ISA dispatch.
//  * pick_jpeg_scale never goes below the size asked for, and takes the smallest scale that keeps it;
//  * a JPEG encoded here with TurboJPEG decodes at 1/2, 1/4 or 1/8 scale to the expected dimensions, with
//    pixels close to a full decode followed by the resize to the same size; a truncated one is refused with
//    an error naming the file;
//  * a DataBlock whose first item transform is Resize(460) asks its decoder for 460 x 460 (and not when
//    the block asks for full decodes);
//  * the AVX2 builds of the resize, the augmentation's resample and the lighting agree with the portable
//    ones (bit for bit for the resize, which is PIL's integer arithmetic).
#include <catch2/catch.hpp>

#include <cmath>
#include <fastpp/backend/cpu/image_kernels.hpp>
#include <fastpp/data.hpp>
#include <fastpp/vision/transforms.hpp>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#if defined(FASTPP_HAVE_TURBOJPEG) && FASTPP_HAVE_TURBOJPEG
#include <turbojpeg.h>
#endif

using namespace fastpp;

namespace {

// A smooth photo-like RGB image (gradients and a few soft blobs): JPEG keeps it well, so full and scaled
// decodes can be compared pixel by pixel.
Image smooth_image(std::int64_t h, std::int64_t w) {
  Image img = Image::empty(Shape{h, w, 3});
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) {
      const double u = double(x) / double(w), v = double(y) / double(h);
      const double blob = std::exp(-40.0 * ((u - 0.3) * (u - 0.3) + (v - 0.6) * (v - 0.6)));
      std::uint8_t* p = img.data() + (y * w + x) * 3;
      p[0] = static_cast<std::uint8_t>(40 + 150 * u + 60 * blob);
      p[1] = static_cast<std::uint8_t>(30 + 120 * v + 90 * blob);
      p[2] = static_cast<std::uint8_t>(200 - 120 * u * v);
    }
  return img;
}

int vtest_max_diff(const Image& a, const Image& b) {
  int m = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(int(a.data()[i]) - int(b.data()[i])));
  return m;
}

}  // namespace

TEST_CASE("pick_jpeg_scale never decodes below the size asked for, and reduces as far as that allows",
          "[vision][scaled_decode]") {
  CHECK(pick_jpeg_scale(4000, 3000, {}) == JpegScale{1, 1});               // nothing asked: full size
  CHECK(pick_jpeg_scale(4000, 3000, {460, 460}) == JpegScale{1, 4});       // 1000 x 750; 1/8 gives 375 rows
  CHECK(pick_jpeg_scale(500, 375, {460, 460}) == JpegScale{1, 1});         // pets: no reduction
  CHECK(pick_jpeg_scale(5640, 3172, {460, 460}) == JpegScale{1, 4});       // 1410 x 793
  CHECK(pick_jpeg_scale(3680, 3680, {460, 460}) == JpegScale{1, 8});       // exactly 460: allowed
  CHECK(pick_jpeg_scale(3673, 3673, {460, 460}) == JpegScale{1, 8});       // ceil(3673 / 8) = 460 (libjpeg rounds up)
  CHECK(pick_jpeg_scale(3672, 3672, {460, 460}) == JpegScale{1, 4});       // 459 would be below
  CHECK(pick_jpeg_scale(1920, 1080, {460, 460}) == JpegScale{1, 2});       // 960 x 540
  CHECK(pick_jpeg_scale(1920, 1080, {0, 460}) == JpegScale{1, 4});         // a side of 0 is free: 480 x 270
  int checked = 0;
  for (std::int64_t w = 1; w <= 2100; w += 37)
    for (std::int64_t h = 1; h <= 2100; h += 41)
      for (std::int64_t need : {1, 28, 224, 460, 700}) {
        const MinDecodeSize n{need, need};
        const JpegScale s = pick_jpeg_scale(w, h, n);
        const std::int64_t sw = jpeg_scaled_side(w, s), sh = jpeg_scaled_side(h, s);
        if (w >= need && h >= need) {
          CHECK((sw >= need && sh >= need));  // never below what Resize needs
          if (s.denom < 8) {                  // and the next reduction would go below it
            const JpegScale next{1, s.denom * 2};
            CHECK((jpeg_scaled_side(w, next) < need || jpeg_scaled_side(h, next) < need));
          }
        } else {
          CHECK(s == JpegScale{1, 1});  // already smaller than asked: decoded whole
        }
        ++checked;
      }
  CHECK(checked > 10000);
}

#if defined(FASTPP_HAVE_TURBOJPEG) && FASTPP_HAVE_TURBOJPEG
namespace {
std::vector<std::uint8_t> encode_jpeg(const Image& img, int quality) {
  tjhandle tj = tjInitCompress();
  REQUIRE(tj != nullptr);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(tj, img.data(), static_cast<int>(img.size(1)), 0, static_cast<int>(img.size(0)), TJPF_RGB,
                             &buf, &size, TJSAMP_420, quality, 0);
  std::vector<std::uint8_t> out;
  if (rc == 0) out.assign(buf, buf + size);
  tjFree(buf);
  tjDestroy(tj);
  REQUIRE(rc == 0);
  return out;
}
double mean_abs_diff(const Image& a, const Image& b) {
  double s = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) s += std::abs(int(a.data()[i]) - int(b.data()[i]));
  return s / double(a.numel());
}
}  // namespace

TEST_CASE("a large JPEG decodes at the smallest DCT scale that still covers the size asked for",
          "[vision][scaled_decode]") {
  const auto jpeg = encode_jpeg(smooth_image(1200, 1600), 95);
  const Image full = decode_image(jpeg, "smooth.jpg");
  REQUIRE(full.shape() == Shape{1200, 1600, 3});
  struct Case {
    MinDecodeSize need;
    std::int64_t h, w;
  };
  for (const Case c : {Case{{460, 460}, 600, 800}, Case{{224, 224}, 300, 400}, Case{{100, 100}, 150, 200},
                       Case{{601, 10}, 1200, 1600}, Case{{0, 0}, 1200, 1600}}) {
    DecodeOptions o;
    o.min_size = c.need;
    const Image scaled = decode_image(jpeg, "smooth.jpg", o);
    INFO("asked for " << c.need.height << " x " << c.need.width);
    REQUIRE(scaled.shape() == Shape{c.h, c.w, 3});
    // Close to the full decode resized to the same size (PIL's antialiased bilinear): the DCT's reduction
    // is a box filter of the same width, so smooth content differs by a level or two.
    const Image ref = crop_pad_resize(full, CropBox{0, 0, 1600, 1200}, SizeHW{c.h, c.w}, PadMode::zeros);
    CHECK(mean_abs_diff(scaled, ref) < 1.5);
    CHECK(vtest_max_diff(scaled, ref) <= 12);
  }
  // stb cannot scale: JpegDecoder::stb keeps the full size whatever min_size says.
  DecodeOptions stb;
  stb.jpeg = JpegDecoder::stb;
  stb.min_size = {460, 460};
  CHECK(decode_image(jpeg, "smooth.jpg", stb).shape() == Shape{1200, 1600, 3});
}

TEST_CASE("a truncated JPEG is refused by name on the scaled path too", "[vision][scaled_decode]") {
  auto jpeg = encode_jpeg(smooth_image(600, 800), 90);
  jpeg.resize(jpeg.size() / 2);
  DecodeOptions o;
  o.min_size = {224, 224};
  try {
    (void)decode_image(jpeg, "half_of_a_photo.jpg", o);
    FAIL("a truncated JPEG decoded");
  } catch (const FormatError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("half_of_a_photo.jpg") && Catch::Contains("truncated"));
  }
}
#endif

TEST_CASE("a DataBlock's Resize tells the decoder the size it needs", "[vision][scaled_decode]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("fastpp_scaled_decode_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (int i = 0; i < 2; ++i) save_png(smooth_image(40, 50), dir / ("img_" + std::to_string(i) + ".png"));
  auto label = [](const fs::path&) { return std::string("a"); };
  auto split = [](const L<fs::path>&) { return Splits{{0}, {1}}; };
  auto resized = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, split, label,
                           item_tfms(Resize{SizeHW{460, 300}})}.dataloaders(dir, {.bs = 1, .num_workers = 0});
  CHECK(resized.train.x_block().decode.min_size == MinDecodeSize{460, 300});
  // a block that asks for full decodes, or has no Resize, gets none
  auto full = DataBlock{Blocks<ImageBlock, CategoryBlock>{ImageBlock{.decode = {.dct_scaling = false}}, {}}, get_image_files, split,
                        label, item_tfms(Resize{460})}.dataloaders(dir, {.bs = 1, .num_workers = 0});
  CHECK(full.train.x_block().decode.min_size.empty());
  auto plain = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, split, label,
                         item_tfms(RandomResizedCrop{.size = 64})}.dataloaders(dir, {.bs = 1, .num_workers = 0});
  CHECK(plain.train.x_block().decode.min_size.empty());
  fs::remove_all(dir);
}

TEST_CASE("the AVX2 builds of the image kernels agree with the portable ones", "[vision][scaled_decode]") {
  bool& use = backend::cpu_detail::image_use_avx2();
  const bool saved = use;
  const Image src = smooth_image(375, 500);
  Tensor<float> batch = Tensor<float>::empty(Shape{2, 96, 120, 3});
  for (std::int64_t i = 0; i < batch.numel(); ++i) batch.data()[i] = float((i * 37) % 256) / 255.0f;
  // (std::get, not a structured binding: clang 14 cannot capture one in a lambda)
  const auto tfms = aug_transforms(AugOptions{.size = 64, .min_scale = 0.75});
  const AffineCoordTfm& aff = std::get<0>(tfms);
  const LightingTfm& light = std::get<1>(tfms);
  auto run = [&](bool avx2) {
    use = avx2;
    BatchContext ctx;
    ctx.batch_index = 3;
    std::vector<Image> resized;
    for (const PadMode pad : {PadMode::zeros, PadMode::border, PadMode::reflection})
      resized.push_back(crop_pad_resize(src, CropBox{-30, 20, 460, 300}, SizeHW{460, 460}, pad));
    resized.push_back(crop_pad_resize(src, CropBox{0, 0, 500, 375}, SizeHW{111, 97}, PadMode::zeros));  // shrink
    Tensor<float> a = aff(batch, ctx);
    Tensor<float> l = light(batch, ctx);  // on the same input in both builds
    return std::make_tuple(resized, a, l);
  };
  const auto [r0, a0, l0] = run(false);
  const auto [r1, a1, l1] = run(saved);
  use = saved;
  for (std::size_t i = 0; i < r0.size(); ++i) CHECK(vtest_max_diff(r0[i], r1[i]) == 0);
  float da = 0, dl = 0;
  for (std::int64_t i = 0; i < a0.numel(); ++i) da = std::max(da, std::fabs(a0.data()[i] - a1.data()[i]));
  for (std::int64_t i = 0; i < l0.numel(); ++i) dl = std::max(dl, std::fabs(l0.data()[i] - l1.data()[i]));
  // The sampling points may differ in their last bit (builds contract different a * b + c into FMAs: x
  // near 100 moves by 1e-5 px), and this batch changes by up to 1 from one pixel to the next: 1e-4 bounds
  // that.
  CHECK(da <= 1e-4f);
  CHECK(dl <= 1e-6f);
  // the vector lighting against the scalar formula, over the whole range
  std::vector<float> x(1001), y(1001);
  for (int i = 0; i <= 1000; ++i) x[static_cast<std::size_t>(i)] = float(i) / 1000.0f;
  for (const float c : {0.8f, 1.0f, 1.25f})
    for (const float bl : {-0.8f, 0.0f, 0.4f}) {
      backend::image_kernels::lighting_span(x.data(), y.data(), 1001, bl, c);
      for (int i = 0; i <= 1000; ++i)
        CHECK(y[static_cast<std::size_t>(i)] ==
              Approx(backend::lighting_pixel(x[static_cast<std::size_t>(i)], bl, c)).margin(1e-6));
    }
}

TEST_CASE("the loader's fused IntToFloat + aug_transforms gives the unfused batch", "[vision][scaled_decode]") {
  Tensor<std::uint8_t> u8 = Tensor<std::uint8_t>::empty(Shape{3, 80, 90, 3});
  for (std::int64_t i = 0; i < u8.numel(); ++i) u8.data()[i] = static_cast<std::uint8_t>((i * 13 + i / 270) % 256);
  const auto [aff, light] = aug_transforms(AugOptions{.size = 48, .min_scale = 0.75});
  BatchContext c1, c2;
  c1.batch_index = c2.batch_index = 5;
  const Tensor<float> fused = aff.from_u8(u8, c1);
  const Tensor<float> plain = aff(IntToFloat{}(u8), c2);
  REQUIRE(fused.shape() == plain.shape());
  CHECK(std::memcmp(fused.data(), plain.data(), fused.nbytes()) == 0);
}
