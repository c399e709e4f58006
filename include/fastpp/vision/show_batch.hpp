#pragma once
// show_batch: a grid of images with their captions, written as one self-contained SVG file (each image an
// embedded PNG, base64), which any browser shows. show_batch(dls, path) (data/show_batch.hpp) decodes a batch (Normalize's
// inverse, then [0, 1] floats) and calls this.
//
//   show_batch(batch_nhwc, {"cat", "dog", ...}, "batch.svg", {.nrows = 3});
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "augment.hpp"
#include "image.hpp"

namespace fastpp {

struct ShowBatchOptions {
  int nrows = 0;  // 0: fastai's get_grid (nrows = int(sqrt(n)), ncols = ceil(n / nrows))
  int ncols = 0;
  int max_n = 9;    // at most this many images (fastai's default)
  int cell_px = 0;  // displayed width of one image; 0: the image's own width, at least 128
  int font_px = 13;
};

namespace detail {
inline std::string base64(const std::vector<std::uint8_t>& in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const std::uint32_t v = std::uint32_t(in[i]) << 16 | std::uint32_t(in[i + 1]) << 8 | in[i + 2];
    out += tbl[v >> 18], out += tbl[(v >> 12) & 63], out += tbl[(v >> 6) & 63], out += tbl[v & 63];
  }
  if (i < in.size()) {
    const std::uint32_t v = std::uint32_t(in[i]) << 16 | (i + 1 < in.size() ? std::uint32_t(in[i + 1]) << 8 : 0u);
    out += tbl[v >> 18], out += tbl[(v >> 12) & 63];
    out += i + 1 < in.size() ? tbl[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

inline std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&apos;";
        break;
      default:
        // control characters are not allowed in XML 1.0 text
        o += (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') ? ' ' : c;
    }
  }
  return o;
}
}  // namespace detail

// fastai's get_grid: (nrows, ncols) for n images.
inline std::pair<int, int> grid_shape(int n, int nrows = 0, int ncols = 0) {
  check(n >= 0 && nrows >= 0 && ncols >= 0, "grid_shape: negative argument");
  if (n == 0) return {0, 0};
  if (nrows == 0 && ncols == 0) {
    nrows = std::max(1, static_cast<int>(std::sqrt(static_cast<double>(n))));
    ncols = (n + nrows - 1) / nrows;
  } else if (ncols == 0) {
    ncols = (n + nrows - 1) / nrows;
  } else if (nrows == 0) {
    nrows = (n + ncols - 1) / ncols;
  }
  check(static_cast<long long>(nrows) * ncols >= n, "show_batch: a grid of ", nrows, " x ", ncols, " cannot hold ", n,
        " images");
  return {nrows, ncols};
}

// The SVG text of the grid for a uint8 NHWC batch [N, H, W, 3].
inline std::string show_batch_svg(const Tensor<std::uint8_t>& batch, const std::vector<std::string>& captions,
                                  const ShowBatchOptions& o = {}) {
  check<ShapeError>(batch.defined() && batch.rank() == 4 && batch.size(3) == 3,
                    "show_batch needs an NHWC RGB batch [N, H, W, 3], got ",
                    batch.defined() ? batch.shape().str() : std::string("none"));
  check(o.max_n > 0, "show_batch: max_n must be positive, got ", o.max_n);
  const int n = static_cast<int>(std::min<std::int64_t>(batch.size(0), o.max_n));
  check(captions.empty() || static_cast<int>(captions.size()) >= n, "show_batch: ", captions.size(), " captions for ",
        n, " images (give one per image, or none)");
  const auto [nrows, ncols] = grid_shape(n, o.nrows, o.ncols);
  const std::int64_t h = batch.size(1), w = batch.size(2);
  const double cell_w = o.cell_px > 0 ? o.cell_px : std::max<double>(static_cast<double>(w), 128.0);
  const double cell_h = cell_w * static_cast<double>(h) / static_cast<double>(w);
  const double pad = 8, title_h = captions.empty() ? 0 : o.font_px + 6;
  const double total_w = ncols * (cell_w + pad) + pad, total_h = nrows * (cell_h + title_h + pad) + pad;

  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"" << total_w
      << "\" height=\"" << total_h << "\" viewBox=\"0 0 " << total_w << " " << total_h << "\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  for (int i = 0; i < n; ++i) {
    const int r = i / ncols, c = i % ncols;
    const double x = pad + c * (cell_w + pad), y = pad + r * (cell_h + title_h + pad);
    svg << "<g class=\"item\" id=\"item" << i << "\">\n";
    if (!captions.empty())
      svg << "<text x=\"" << x + cell_w / 2 << "\" y=\"" << y + o.font_px
          << "\" font-family=\"sans-serif\" font-size=\"" << o.font_px << "\" text-anchor=\"middle\">"
          << detail::xml_escape(captions[static_cast<std::size_t>(i)]) << "</text>\n";
    svg << "<image x=\"" << x << "\" y=\"" << y + title_h << "\" width=\"" << cell_w << "\" height=\"" << cell_h
        << "\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" xlink:href=\"data:image/png;base64,"
        << detail::base64(encode_png(batch[i])) << "\"/>\n</g>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

// Writes the grid to `path` (an .svg file; written to a temporary name, then renamed).
inline void show_batch(const Tensor<std::uint8_t>& batch, const std::vector<std::string>& captions,
                       const std::filesystem::path& path, const ShowBatchOptions& o = {}) {
  const std::string text = show_batch_svg(batch, captions, o);
  const auto tmp = std::filesystem::path(path.string() + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    detail::check_file<IoError>(static_cast<bool>(out), path.string(), "cannot open the file for writing");
    out << text;
    detail::check_file<IoError>(static_cast<bool>(out), path.string(), "write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  detail::check_file<IoError>(!ec, path.string(), "cannot rename the temporary file: ", ec.message());
}

// The same for a float batch in [0, 1] (already denormalized: Normalize::decode). Values are clamped.
inline void show_batch(const Tensor<float>& batch, const std::vector<std::string>& captions,
                       const std::filesystem::path& path, const ShowBatchOptions& o = {}) {
  show_batch(float_to_uint8(batch), captions, path, o);
}

}  // namespace fastpp
