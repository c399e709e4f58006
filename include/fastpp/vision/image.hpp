#pragma once
// Decoding image files into fastpp::Image (Tensor<uint8_t> [H, W, 3], RGB) and encoding PNG.
//
//   Image img = load_image("pets/images/Abyssinian_1.jpg");
//   Image img = decode_image(bytes.data(), bytes.size(), "in-memory name for errors");
//
// JPEG, PNG and BMP are decoded with stb_image (see detail/stb_image_impl.hpp for how it is compiled);
// JPEG goes through libjpeg-turbo instead when the program links fastpp::turbojpeg (it defines
// FASTPP_HAVE_TURBOJPEG; cmake/FastppTurbojpeg.cmake finds it), and is then decoded at a reduced scale when
// DecodeOptions::min_size allows (a DataBlock sets it from Resize: see DecodeOptions). Whatever the file holds (grey, grey+alpha,
// palette, RGBA, 16 bits per channel), the result is 8-bit RGB: grey is replicated, 16-bit samples keep their
// high byte, and alpha (an alpha channel, or a palette's or colour key's tRNS chunk) follows
// DecodeOptions::alpha: dropped by default, as PIL's convert("RGB") does (black artwork on a transparent
// background then decodes to solid black), or composited onto a colour you name, as PIL's
// Image.new("RGB", size, colour).paste(im, mask=alpha) does, to the same rounding.
//
// Untrusted input: every failure is a fastpp::FormatError (or IoError for the file system) that names the
// file and the reason (empty, not an image, unsupported format, truncated, corrupt, too large). The header
// is read first and an image larger than DecodeLimits is refused before any pixel memory is allocated.
#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../core/regular_file.hpp"
#include "transform.hpp"
#include "detail/stb_image_impl.hpp"
#include "detail/stb_image_write_impl.hpp"

#if defined(FASTPP_HAVE_TURBOJPEG) && FASTPP_HAVE_TURBOJPEG
#include <turbojpeg.h>
#endif

namespace fastpp {

// Upper bounds checked on an image's header before decoding. The defaults accept any photo a dataset holds
// (8192 x 8192 = 2^26 pixels) and refuse the "decompression bombs" whose headers claim 10^10 pixels.
struct DecodeLimits {
  std::int64_t max_pixels = std::int64_t{1} << 26;
  std::int64_t max_side = std::int64_t{1} << 15;
  std::int64_t max_file_bytes = std::int64_t{1} << 30;
  bool operator==(const DecodeLimits&) const = default;
};

enum class JpegDecoder {
  automatic,  // libjpeg-turbo where this build has it, stb_image otherwise
  stb,        // always stb_image
};

// An 8-bit RGB colour, e.g. the background transparent pixels are composited onto.
struct Rgb8 {
  std::uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb8&) const = default;
};

// What happens to transparency (an alpha channel, or a palette's or colour key's tRNS chunk):
//   AlphaPolicy::drop()                         alpha ignored, as PIL's convert("RGB"): the default, for parity
//                                               with fastai (whose PILImage.create converts so)
//   AlphaPolicy::composite_onto({255, 255, 255}) each pixel blended onto that colour by its alpha:
//                                               round((c * a + bg * (255 - a)) / 255), as PIL's paste with a mask
// Images without transparency (and every JPEG) decode the same under both.
struct AlphaPolicy {
  enum class Mode { drop, composite };
  Mode mode = Mode::drop;
  Rgb8 background{};  // used by composite only

  static constexpr AlphaPolicy drop() { return {}; }
  static constexpr AlphaPolicy composite_onto(Rgb8 colour) { return {Mode::composite, colour}; }
  bool operator==(const AlphaPolicy&) const = default;
};

// `min_size`: the smallest image the caller needs (height, width). With libjpeg-turbo, a JPEG larger than
// that is decoded at 1/2, 1/4 or 1/8 scale in the DCT domain (what PIL's Image.draft does), at the
// smallest of those scales whose result is still at least min_size in both sides, never below: a 4000 x
// 3000 photo for Resize(460) decodes at 1/4 (1000 x 750) and the resize does the rest. Its pixels are then
// close to, not equal to, a full decode followed by the resize. {} (the default) decodes at full size,
// and so does stb_image (it cannot scale). A DataBlock fills it in from its first item transform (Resize
// says what it needs: MinDecodeSize in transform.hpp) unless `dct_scaling` is false (full decodes, as
// fastai's PILImage.create makes them) or min_size was set by hand.
struct DecodeOptions {
  DecodeLimits limits{};
  JpegDecoder jpeg = JpegDecoder::automatic;
  AlphaPolicy alpha{};
  MinDecodeSize min_size{};
  bool dct_scaling = true;
  bool operator==(const DecodeOptions&) const = default;
};

// A JPEG decoding scale num/denom (1/1 full size, 1/2, 1/4, 1/8).
struct JpegScale {
  int num = 1, denom = 1;
  bool operator==(const JpegScale&) const = default;
};

// The side a JPEG of `side` pixels decodes to at scale s: libjpeg rounds up (TJSCALED).
constexpr std::int64_t jpeg_scaled_side(std::int64_t side, JpegScale s) {
  return (side * s.num + s.denom - 1) / s.denom;
}

// The scale a w x h JPEG is decoded at for a caller that needs at least `need`: of 1/2, 1/4 and 1/8 (the
// reductions libjpeg-turbo has SIMD inverse DCTs for; 3/8, 5/8, ... are plain C and slower than decoding at
// the next power of two and resizing), the smallest whose scaled width and height are both at least need's
// (a side of need 0 is free); 1/1 when none is, or when `need` is empty.
constexpr JpegScale pick_jpeg_scale(std::int64_t w, std::int64_t h, MinDecodeSize need) {
  JpegScale best{1, 1};
  if (need.empty()) return best;
  for (int denom = 2; denom <= 8; denom *= 2) {
    const JpegScale s{1, denom};
    if (jpeg_scaled_side(w, s) < need.width || jpeg_scaled_side(h, s) < need.height) break;
    best = s;
  }
  return best;
}

enum class ImageFormat { jpeg, png, bmp, gif, unknown };

inline const char* format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::jpeg:
      return "JPEG";
    case ImageFormat::png:
      return "PNG";
    case ImageFormat::bmp:
      return "BMP";
    case ImageFormat::gif:
      return "GIF";
    case ImageFormat::unknown:
      break;
  }
  return "unknown";
}

// The format from the file's first bytes (its magic number), never from its name: a text file named .jpg
// is not a JPEG.
inline ImageFormat sniff_format(const std::uint8_t* bytes, std::size_t size) {
  auto starts = [&](std::initializer_list<unsigned> magic) {
    if (size < magic.size()) return false;
    std::size_t i = 0;
    for (unsigned m : magic)
      if (bytes[i++] != m) return false;
    return true;
  };
  if (starts({0xFF, 0xD8, 0xFF})) return ImageFormat::jpeg;
  if (starts({0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'})) return ImageFormat::png;
  if (starts({'B', 'M'})) return ImageFormat::bmp;
  if (starts({'G', 'I', 'F', '8'})) return ImageFormat::gif;
  return ImageFormat::unknown;
}

// What the header says, without decoding the pixels.
struct ImageInfo {
  std::int64_t width = 0, height = 0;
  int channels = 0;  // in the file: 1 grey, 2 grey+alpha, 3 RGB (palette too), 4 RGBA
  bool sixteen_bit = false;
  ImageFormat format = ImageFormat::unknown;
};

// True when JPEGs are decoded by libjpeg-turbo in this build.
constexpr bool turbojpeg_available() {
#if defined(FASTPP_HAVE_TURBOJPEG) && FASTPP_HAVE_TURBOJPEG
  return true;
#else
  return false;
#endif
}

namespace detail {

// check() for errors about a file: E(file, message) when cond is false.
template <class E, class... Parts>
inline void check_file(bool cond, const std::string& file, const Parts&... parts) {
  if (!cond) throw E(file, msg(parts...));
}

inline std::string describe_start(const std::uint8_t* bytes, std::size_t size) {
  std::string s;
  const std::size_t n = std::min<std::size_t>(size, 8);
  bool text = n > 0;
  for (std::size_t i = 0; i < n; ++i) text = text && bytes[i] >= 0x09 && bytes[i] < 0x7F;
  if (text) {
    s = "text \"";
    for (std::size_t i = 0; i < n; ++i) s += (bytes[i] >= 0x20 ? static_cast<char>(bytes[i]) : ' ');
    return s + "...\"";
  }
  static const char* hex = "0123456789abcdef";
  for (std::size_t i = 0; i < n; ++i) {
    s += i ? " " : "";
    s += hex[bytes[i] >> 4];
    s += hex[bytes[i] & 15];
  }
  return "bytes " + s;
}

inline std::uint32_t be16(const std::uint8_t* p) { return std::uint32_t(p[0]) << 8 | p[1]; }
inline std::uint32_t be32(const std::uint8_t* p) { return be16(p) << 16 | be16(p + 2); }
inline std::uint32_t le16(const std::uint8_t* p) { return std::uint32_t(p[1]) << 8 | p[0]; }
inline std::uint32_t le32(const std::uint8_t* p) { return le16(p + 2) << 16 | le16(p); }

// The width and height a header claims, read by fastpp itself (not by stb), so the size limits are applied
// before any decoder runs. False when the header is too short or malformed (the decoder then reports it).
inline bool header_dimensions(const std::uint8_t* b, std::size_t n, ImageFormat f, std::int64_t& w, std::int64_t& h) {
  if (f == ImageFormat::png) {
    if (n < 24 || std::memcmp(b + 12, "IHDR", 4) != 0) return false;
    w = be32(b + 16), h = be32(b + 20);
    return true;
  }
  if (f == ImageFormat::bmp) {
    if (n < 26) return false;
    if (le32(b + 14) == 12) {  // OS/2 BITMAPCOREHEADER: 16-bit sizes
      w = le16(b + 18), h = le16(b + 20);
    } else {
      w = static_cast<std::int32_t>(le32(b + 18));
      h = static_cast<std::int32_t>(le32(b + 22));
      h = h < 0 ? -h : h;  // negative height: a top-down bitmap
    }
    return true;
  }
  if (f == ImageFormat::jpeg) {  // walk the markers to the first start-of-frame
    std::size_t i = 2;
    while (i + 4 <= n) {
      if (b[i] != 0xFF) return false;
      const std::uint8_t m = b[i + 1];
      if (m == 0xFF) {  // fill byte
        ++i;
        continue;
      }
      if (m == 0x01 || (m >= 0xD0 && m <= 0xD9)) {  // markers without a length
        i += 2;
        continue;
      }
      const bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
      if (sof) {
        if (i + 9 > n) return false;
        h = be16(b + i + 5), w = be16(b + i + 7);
        return true;
      }
      i += 2 + be16(b + i + 2);
    }
  }
  return false;
}

// Walks a JPEG's segments (skipping the entropy-coded data of each scan) before any decoder sees it, and
// returns why it must be refused, or "" when it may be decoded:
//  * a Huffman table (DHT) declaring more than 256 codes: Debian's stb_image 2.27 writes past its tables on
//    such input (found by fuzz/fuzz_decode.cpp; fixed upstream in 2.28), so fastpp refuses it first;
//  * no end-of-image marker: the data was cut off. stb and libjpeg would fill the missing rows with grey and
//    succeed; PIL refuses ("image file is truncated"), and so do we;
//  * with `for_stb_decode`: a scan that uses a Huffman table no DHT has defined. stb 2.27 then decodes with
//    uninitialised tables and reads far out of bounds (found by the fuzzer); libjpeg-turbo substitutes the
//    standard tables (motion-JPEG frames have none), so this check runs only before stb decodes the scans.
inline std::string jpeg_precheck(const std::uint8_t* b, std::size_t n, bool for_stb_decode = false) {
  bool defined[2][4] = {};  // [DC/AC][table id]
  bool progressive = false;
  std::size_t i = 2;
  while (i + 1 < n) {
    if (b[i] != 0xFF) {  // stray bytes between segments: decoders skip them (libjpeg warns), and so do we
      ++i;
      continue;
    }
    const std::uint8_t m = b[i + 1];
    if (m == 0xFF) {
      ++i;
      continue;
    }
    if (m == 0xD9) return "";  // end of image
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
      i += 2;
      continue;
    }
    if (i + 4 > n) break;
    const std::size_t len = be16(b + i + 2);
    if (len < 2 || i + 2 + len > n) break;
    if (m == 0xC4) {  // DHT: tables of 1 + 16 + sum(counts) bytes
      std::size_t p = i + 4;
      const std::size_t end = i + 2 + len;
      while (p < end) {
        if (p + 17 > end) return "corrupt JPEG: Huffman table header runs past its segment";
        std::size_t codes = 0;
        for (int k = 1; k <= 16; ++k) codes += b[p + static_cast<std::size_t>(k)];
        if (codes > 256)
          return "corrupt JPEG: a Huffman table declares " + std::to_string(codes) + " codes (at most 256)";
        if ((b[p] >> 4) <= 1 && (b[p] & 15) <= 3) defined[b[p] >> 4][b[p] & 15] = true;
        p += 17 + codes;
      }
    }
    if (m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE) progressive = true;
    if (m == 0xDA && for_stb_decode && len >= 3) {  // the tables this scan decodes with must exist
      const std::size_t ns = b[i + 4];
      if (len >= 6 + 2 * ns) {
        const std::uint8_t ss = b[i + 5 + 2 * ns], ah = b[i + 7 + 2 * ns] >> 4;
        const bool uses_dc = !progressive || (ss == 0 && ah == 0), uses_ac = !progressive || ss > 0;
        for (std::size_t c = 0; c < ns; ++c) {
          const int td = b[i + 6 + 2 * c] >> 4, ta = b[i + 6 + 2 * c] & 15;
          if ((uses_dc && td <= 3 && !defined[0][td]) || (uses_ac && ta <= 3 && !defined[1][ta]))
            return "corrupt JPEG: a scan uses a Huffman table that is not defined (" +
                   std::string(uses_dc && td <= 3 && !defined[0][td] ? "DC " + std::to_string(td)
                                                                     : "AC " + std::to_string(ta)) +
                   ")";
        }
      }
    }
    i += 2 + len;
    if (m == 0xDA) {  // start of scan: skip the entropy-coded data up to the next real marker
      while (i + 1 < n && !(b[i] == 0xFF && b[i + 1] != 0x00 && !(b[i + 1] >= 0xD0 && b[i + 1] <= 0xD7))) ++i;
    }
  }
  return "truncated JPEG: the data ends before the end-of-image marker";
}

// A PNG may legally hold empty IDAT chunks; stb_image 2.27 then calls memcpy on a null buffer when the first
// IDAT is empty (undefined behaviour, found by fuzz/fuzz_decode.cpp). Returns a copy without empty IDATs, or
// an empty vector when there are none (the original bytes are then decoded as they are).
inline std::vector<std::uint8_t> png_without_empty_idat(const std::uint8_t* b, std::size_t n) {
  std::vector<std::size_t> drop;
  for (std::size_t i = 8; i + 12 <= n;) {
    const std::size_t len = be32(b + i);
    if (len > n - i - 12) break;
    if (len == 0 && std::memcmp(b + i + 4, "IDAT", 4) == 0) drop.push_back(i);
    i += 12 + len;
  }
  std::vector<std::uint8_t> out;
  if (drop.empty()) return out;
  out.reserve(n);
  std::size_t from = 0;
  for (std::size_t d : drop) {
    out.insert(out.end(), b + from, b + d);
    from = d + 12;
  }
  out.insert(out.end(), b + from, b + n);
  return out;
}

// Walks a PNG's chunks up to IEND: "" when every chunk fits in the file, else why it is truncated.
inline std::string png_precheck(const std::uint8_t* b, std::size_t n) {
  for (std::size_t i = 8; i + 8 <= n;) {
    const std::size_t len = be32(b + i);
    if (std::memcmp(b + i + 4, "IEND", 4) == 0) return "";
    if (len > n - i - 8 || n - i - 8 - len < 4)
      return "truncated or corrupt PNG: a chunk at byte " + std::to_string(i) + " claims " + std::to_string(len) +
             " bytes, more than the file holds";
    i += 12 + len;
  }
  return "truncated PNG: the data ends before the IEND chunk";
}

// Checks that an uncompressed BMP holds all the pixel rows its header claims: "" when it does, else why it is
// truncated. stb_image reads past the end of the data as zeros, so a BMP cut in half (or a 1.7 KB header
// claiming 4000 x 4000) would decode into black rows; PIL refuses both ("image file is truncated"), and so
// do we. Rows are padded to 4 bytes; the last row's padding may be missing (some writers omit it). Headers
// stb cannot decode (RLE, unknown sizes, odd bit depths) are left to stb, which refuses them itself.
inline std::string bmp_precheck(const std::uint8_t* b, std::size_t n) {
  if (n < 30) return "";  // too short for a header: stb reports it
  const std::uint32_t offset = le32(b + 10), hsz = le32(b + 14);
  std::int64_t w = 0, h = 0, bpp = 0;
  if (hsz == 12) {
    w = le16(b + 18), h = le16(b + 20), bpp = le16(b + 24);
  } else if (hsz == 40 || hsz == 56 || hsz == 108 || hsz == 124) {
    if (n < 34) return "";
    w = static_cast<std::int32_t>(le32(b + 18));
    h = static_cast<std::int32_t>(le32(b + 22));
    h = h < 0 ? -h : h;
    bpp = le16(b + 28);
    const std::uint32_t compression = le32(b + 30);
    if (compression != 0 && compression != 3) return "";  // RLE, JPEG, PNG: stb refuses these
  } else {
    return "";
  }
  if (w <= 0 || h <= 0 || (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32)) return "";
  // Larger sides are stb's "too large"; below 2^24 per side the products below fit in 64 bits, whatever
  // DecodeLimits the caller set.
  if (w > (std::int64_t{1} << 24) || h > (std::int64_t{1} << 24)) return "";
  const std::int64_t stride = (w * bpp + 31) / 32 * 4, last_row = (w * bpp + 7) / 8;
  const std::int64_t needed = std::int64_t{offset} + stride * (h - 1) + last_row;
  if (needed <= static_cast<std::int64_t>(n)) return "";
  return "truncated BMP: its header claims " + std::to_string(w) + " x " + std::to_string(h) + " pixels at " +
         std::to_string(bpp) + " bits, which needs " + std::to_string(needed) + " bytes (pixel data from byte " +
         std::to_string(offset) + "), but the file holds " + std::to_string(n) + " bytes";
}

// Why stb_image failed, for a file of format f. stb's decoders do not always set a reason (its inflater
// returns failure on an invalid deflate block type without one), and stbi_load_from_memory probes the
// other formats first, so what stbi_failure_reason() returns can be a leftover from those probes ("no
// SOI" from the JPEG probe, "bad png sig" from the PNG probe) that has nothing to do with the file. Such
// reasons are replaced by what did fail: for a PNG that passed png_precheck (all chunks present), the only
// silent failure is the zlib stream of its IDAT chunks.
inline std::string stb_reason(ImageFormat f) {
  const char* r = stbi_failure_reason();
  const std::string s = r ? r : "";
  const bool stale = s.empty() || (f != ImageFormat::jpeg && s == "no SOI") ||
                     (f != ImageFormat::png && s == "bad png sig") || (f != ImageFormat::bmp && s == "not BMP");
  if (!stale) return s;
  if (f == ImageFormat::png) return "its compressed image data (the zlib stream in the IDAT chunks) is corrupt";
  return std::string("the ") + format_name(f) + " decoder stopped without giving a reason";
}

// What a user can do about an image above the limits, appended to the refusal: it names both ways out
// with the exact spelling (the limit field, and the DataBlock options).
inline std::string too_large_advice(const char* field, std::int64_t needed) {
  return msg(". To decode it, raise the limit to at least ", needed, ": load_image(path, {.limits = {.", field,
             " = ", needed, "}}), or in a DataBlock Blocks{ImageBlock{.decode = {.limits = {.", field, " = ", needed,
             "}}}, CategoryBlock{}}; to leave such files out of training, dataloaders(path, {.on_bad_item = "
             "BadItems::skip}) (summary() lists them first)");
}

// The format of a file's first bytes, or FormatError naming `file` when it is not one fastpp decodes.
inline ImageFormat supported_format(const std::uint8_t* bytes, std::size_t size, const std::string& file) {
  const ImageFormat f = sniff_format(bytes, size);
  check_file<FormatError>(f != ImageFormat::gif, file,
                          "GIF images are not supported (JPEG, PNG and BMP are): convert the file to PNG");
  check_file<FormatError>(f != ImageFormat::unknown, file, "not an image: it starts with ", describe_start(bytes, size),
                          ", not a JPEG, PNG or BMP signature");
  return f;
}

// `advise`: append what to do about an image above the limits (header_problem leaves it to its caller,
// which says it once for every file it lists).
inline void check_limits(const ImageInfo& info, const DecodeLimits& lim, const std::string& name, bool advise = true) {
  detail::check_file<FormatError>(info.width > 0 && info.height > 0, name, "the ", format_name(info.format),
                                  " header gives an empty image (", info.width, " x ", info.height, ")");
  detail::check_file<FormatError>(info.width <= lim.max_side && info.height <= lim.max_side, name,
                                  "the image is too large: ", info.width, " x ", info.height, " pixels, above the limit of ",
                                  lim.max_side, " pixels per side (DecodeLimits::max_side)",
                                  advise ? too_large_advice("max_side", std::max(info.width, info.height)) : "");
  detail::check_file<FormatError>(info.width * info.height <= lim.max_pixels, name, "the image is too large: ",
                                  info.width, " x ", info.height, " = ", info.width * info.height,
                                  " pixels, above the limit of ", lim.max_pixels, " (DecodeLimits::max_pixels)",
                                  advise ? too_large_advice("max_pixels", info.width * info.height) : "");
}

struct StbFree {
  void operator()(stbi_uc* p) const noexcept { stbi_image_free(p); }
};

// Sets stb's per-allocation cap for the current scope (see detail/stb_image_impl.hpp).
class StbAllocationLimit {
 public:
  explicit StbAllocationLimit(std::size_t bytes) : saved_(stb_allocation_limit) { stb_allocation_limit = bytes; }
  ~StbAllocationLimit() { stb_allocation_limit = saved_; }
  StbAllocationLimit(const StbAllocationLimit&) = delete;
  StbAllocationLimit& operator=(const StbAllocationLimit&) = delete;

 private:
  std::size_t saved_;
};

// RGBA pixels [n][4] blended onto `bg` into RGB, as PIL's paste(im, mask=alpha): the exact rounding of
// (c * a + bg * (255 - a)) / 255 (the sum is never a half-integer multiple of 255, so no tie arises).
inline void composite_rgba(const std::uint8_t* rgba, std::size_t n, Rgb8 bg, std::uint8_t* rgb) {
  const unsigned back[3] = {bg.r, bg.g, bg.b};
  for (std::size_t i = 0; i < n; ++i, rgba += 4, rgb += 3) {
    const unsigned a = rgba[3];
    for (int c = 0; c < 3; ++c) rgb[c] = static_cast<std::uint8_t>((rgba[c] * a + back[c] * (255 - a) + 127) / 255);
  }
}

inline Image decode_with_stb(const std::uint8_t* bytes, std::size_t size, const ImageInfo& info,
                             const std::string& name, const AlphaPolicy& alpha = {}) {
  // The largest buffer stb needs is the decoded image at 16 bits x 4 channels, or PNG's inflated rows (one
  // filter byte per row), grown by doubling: 2 x that, plus slack for tables.
  const auto npix = static_cast<std::size_t>(info.width) * static_cast<std::size_t>(info.height);
  const StbAllocationLimit cap(2 * (npix * 8 + static_cast<std::size_t>(info.height) * 8) + (std::size_t{1} << 20));
  if (info.format == ImageFormat::jpeg) {
    const std::string refused = jpeg_precheck(bytes, size, true);
    check_file<FormatError>(refused.empty(), name, refused);
  }
  std::vector<std::uint8_t> cleaned;
  if (info.format == ImageFormat::png) cleaned = png_without_empty_idat(bytes, size);
  if (!cleaned.empty()) bytes = cleaned.data(), size = cleaned.size();
  int w = 0, h = 0, comp = 0;
  // Compositing asks stb for 4 channels: it then applies a palette's or colour key's tRNS chunk as alpha
  // (opaque images get alpha 255, which composites to the same pixels).
  const int want = alpha.mode == AlphaPolicy::Mode::composite ? 4 : 3;
  stb_clear_failure_reason();  // so a reason left by an earlier decode on this thread is not reported
  std::unique_ptr<stbi_uc, StbFree> pixels(stbi_load_from_memory(bytes, static_cast<int>(size), &w, &h, &comp, want));
  detail::check_file<FormatError>(pixels != nullptr, name, "could not decode the ", format_name(info.format),
                                  " data (corrupt or truncated file): ", stb_reason(info.format));
  detail::check_file<FormatError>(w == info.width && h == info.height, name, "the decoded size ", w, " x ", h,
                                  " differs from the header's ", info.width, " x ", info.height);
  Image img = Image::empty(Shape{h, w, 3});
  if (want == 4) composite_rgba(pixels.get(), npix, alpha.background, img.data());
  else std::memcpy(img.data(), pixels.get(), img.nbytes());
  return img;
}

#if defined(FASTPP_HAVE_TURBOJPEG) && FASTPP_HAVE_TURBOJPEG
struct TjDestroy {
  void operator()(void* h) const noexcept { tjDestroy(h); }
};

// Decodes a JPEG with libjpeg-turbo, at the scale pick_jpeg_scale chooses for `need`; returns an undefined
// Image (and the reason) when it cannot, so the caller can try stb (e.g. for a CMYK JPEG that TurboJPEG will
// not turn into RGB).
inline Image decode_with_turbojpeg(const std::uint8_t* bytes, std::size_t size, const DecodeLimits& lim,
                                   const std::string& name, std::string& why, MinDecodeSize need = {}) {
  std::unique_ptr<void, TjDestroy> tj(tjInitDecompress());
  if (!tj) {
    why = "tjInitDecompress failed";
    return {};
  }
  auto* data = const_cast<unsigned char*>(bytes);  // TurboJPEG 2.1's API is not const-correct
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.get(), data, static_cast<unsigned long>(size), &w, &h, &subsamp, &colorspace) != 0) {
    why = tjGetErrorStr2(tj.get());
    return {};
  }
  check_limits(ImageInfo{w, h, 3, false, ImageFormat::jpeg}, lim, name);
  const JpegScale s = pick_jpeg_scale(w, h, need);
  const auto sw = static_cast<int>(jpeg_scaled_side(w, s)), sh = static_cast<int>(jpeg_scaled_side(h, s));
  Image img = Image::empty(Shape{sh, sw, 3});
  // tjDecompress2 picks the scale from the width and height asked for (the largest scaled size that fits).
  if (tjDecompress2(tj.get(), data, static_cast<unsigned long>(size), img.data(), sw, 0, sh, TJPF_RGB,
                    TJFLAG_STOPONWARNING) != 0) {
    why = tjGetErrorStr2(tj.get());
    return {};
  }
  return img;
}
#endif

inline std::string display_name(const std::string& name) { return name.empty() ? "<memory>" : name; }

}  // namespace detail

// Reads the header: format, size, channels. Throws FormatError naming `name` when it is not a supported image,
// or when its header claims more pixels than `limits` allow.
inline ImageInfo image_info(const std::uint8_t* bytes, std::size_t size, const std::string& name = {},
                            const DecodeLimits& limits = {}) {
  const std::string file = detail::display_name(name);
  detail::check_file<FormatError>(size > 0, file, "the file is empty (0 bytes)");
  detail::check_file<FormatError>(bytes != nullptr, file, "null image buffer");
  detail::check_file<FormatError>(size <= static_cast<std::size_t>(INT_MAX), file, "the file is too large to decode (",
                                  size, " bytes)");
  ImageInfo info;
  info.format = detail::supported_format(bytes, size, file);
  std::int64_t hw = 0, hh = 0;
  if (detail::header_dimensions(bytes, size, info.format, hw, hh))
    detail::check_limits(ImageInfo{hw, hh, 0, false, info.format}, limits, file);
  {  // before stb reads any of it
    const std::string refused = info.format == ImageFormat::jpeg  ? detail::jpeg_precheck(bytes, size)
                                : info.format == ImageFormat::png ? detail::png_precheck(bytes, size)
                                                                  : detail::bmp_precheck(bytes, size);
    detail::check_file<FormatError>(refused.empty(), file, refused);
  }
  int w = 0, h = 0, comp = 0;
  detail::stb_clear_failure_reason();
  detail::check_file<FormatError>(stbi_info_from_memory(bytes, static_cast<int>(size), &w, &h, &comp) == 1, file,
                                  "corrupt or truncated ", format_name(info.format),
                                  " header: ", detail::stb_reason(info.format));
  info.width = w;
  info.height = h;
  info.channels = comp;
  info.sixteen_bit = stbi_is_16_bit_from_memory(bytes, static_cast<int>(size)) == 1;
  return info;
}

// Decodes an image held in memory; `name` (a file name or any label) appears in every error.
inline Image decode_image(const std::uint8_t* bytes, std::size_t size, const std::string& name = {},
                          const DecodeOptions& opts = {}) {
  const std::string file = detail::display_name(name);
  const ImageInfo info = image_info(bytes, size, name, opts.limits);
  detail::check_limits(info, opts.limits, file);  // before any pixel is allocated
  if (info.format == ImageFormat::jpeg) {
#if defined(FASTPP_HAVE_TURBOJPEG) && FASTPP_HAVE_TURBOJPEG
    if (opts.jpeg == JpegDecoder::automatic) {
      std::string why;
      Image img = detail::decode_with_turbojpeg(bytes, size, opts.limits, file, why, opts.min_size);
      if (img.defined()) return img;
      try {
        return detail::decode_with_stb(bytes, size, info, file, opts.alpha);
      } catch (const FormatError& e) {
        throw FormatError(file, "could not decode the JPEG data (corrupt or truncated file): libjpeg-turbo: " + why +
                                    "; then stb_image: " + e.what());
      }
    }
#endif
  }
  return detail::decode_with_stb(bytes, size, info, file, opts.alpha);
}

inline Image decode_image(const std::vector<std::uint8_t>& bytes, const std::string& name = {},
                          const DecodeOptions& opts = {}) {
  return decode_image(bytes.data(), bytes.size(), name, opts);
}

// The whole file, with IoError naming it when it is missing, a folder, a FIFO or anything else that is not a
// regular file (refused at once: a FIFO is never waited on), unreadable or larger than max_bytes.
inline std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path,
                                                 std::int64_t max_bytes = std::int64_t{1} << 30) {
  return read_regular_file(path, "image", max_bytes);
}

// Reads and decodes an image file (JPEG, PNG or BMP) into 8-bit RGB.
inline Image load_image(const std::filesystem::path& path, const DecodeOptions& opts = {}) {
  const auto bytes = read_file_bytes(path, opts.limits.max_file_bytes);
  return decode_image(bytes.data(), bytes.size(), path.string(), opts);
}

// Why `path` will fail to load, judged from its header alone, or "" when the header is fine: a missing or
// non-regular file, an empty one, one that is not a JPEG, PNG or BMP (a GIF, a text file), a file or image
// size above `limits`. Only the first 256 KiB are read and no pixel is decoded, so checking every file of a
// dataset costs little (DataBlock::summary() does); damage after the header (a truncated or corrupt pixel
// stream) shows only when the file is decoded. The reason does not repeat the path.
inline std::string header_problem(const std::filesystem::path& path, const DecodeLimits& limits = {}) {
  const std::string file = path.string();
  try {
    require_regular_file(path, "image");  // never opens a FIFO, so never blocks
    const std::uintmax_t size = std::filesystem::file_size(path);
    detail::check_file<IoError>(size <= static_cast<std::uintmax_t>(limits.max_file_bytes), file,
                                "the file is too large (", size, " bytes, above DecodeLimits::max_file_bytes = ",
                                limits.max_file_bytes, ")");
    detail::check_file<FormatError>(size > 0, file, "the file is empty (0 bytes)");
    std::vector<std::uint8_t> head(static_cast<std::size_t>(std::min<std::uintmax_t>(size, std::uintmax_t{1} << 18)));
    std::ifstream in(path, std::ios::binary);
    in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
    detail::check_file<IoError>(in.gcount() == static_cast<std::streamsize>(head.size()), file,
                                "cannot read the image's first ", head.size(), " bytes");
    const ImageFormat f = detail::supported_format(head.data(), head.size(), file);
    std::int64_t w = 0, h = 0;
    if (detail::header_dimensions(head.data(), head.size(), f, w, h))
      detail::check_limits(ImageInfo{w, h, 0, false, f}, limits, file, false);
  } catch (const IoError& e) {  // FormatError too: the reason without its " [file: ...]" suffix
    const std::string what = e.what(), suffix = " [file: " + e.path() + "]";
    const bool ends = what.size() >= suffix.size() && what.compare(what.size() - suffix.size(), suffix.size(), suffix) == 0;
    return ends ? what.substr(0, what.size() - suffix.size()) : what;
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// PNG bytes of an RGB image [H, W, 3] (or a grey image [H, W] / [H, W, 1]).
inline std::vector<std::uint8_t> encode_png(const Tensor<std::uint8_t>& img) {
  check<ShapeError>(img.defined() && (img.rank() == 2 || img.rank() == 3), "encode_png needs an image [H, W, C], got ",
                    img.shape());
  const std::int64_t h = img.size(0), w = img.size(1), c = img.rank() == 3 ? img.size(2) : 1;
  check<ShapeError>(c == 1 || c == 3 || c == 4, "encode_png needs 1, 3 or 4 channels, got ", c);
  check<ShapeError>(h > 0 && w > 0 && h <= INT_MAX / 4 && w * c <= INT_MAX, "encode_png: image of ", h, " x ", w,
                    " is empty or too large");
  std::vector<std::uint8_t> out;
  auto sink = [](void* ctx, void* data, int n) {
    auto* v = static_cast<std::vector<std::uint8_t>*>(ctx);
    const auto* p = static_cast<const std::uint8_t*>(data);
    v->insert(v->end(), p, p + n);
  };
  const int ok = stbi_write_png_to_func(sink, &out, static_cast<int>(w), static_cast<int>(h), static_cast<int>(c),
                                        img.data(), static_cast<int>(w * c));
  check<Error>(ok != 0, "encode_png: stb_image_write failed for an image of ", h, " x ", w);
  return out;
}

// Writes an image as a PNG file (to a temporary name first, then renamed, so a failure leaves no half file).
inline void save_png(const Tensor<std::uint8_t>& img, const std::filesystem::path& path) {
  const auto bytes = encode_png(img);
  const auto tmp = std::filesystem::path(path.string() + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    detail::check_file<IoError>(static_cast<bool>(out), path.string(), "cannot open the file for writing");
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    detail::check_file<IoError>(static_cast<bool>(out), path.string(), "write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  detail::check_file<IoError>(!ec, path.string(), "cannot rename the temporary file: ", ec.message());
}

}  // namespace fastpp
