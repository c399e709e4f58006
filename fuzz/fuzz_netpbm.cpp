// libFuzzer target for the untrusted-byte readers of the data area: the PGM/PPM decoder that
// ImageBlock uses by default and the IDX parsers of the Fashion-MNIST export. Any input must give an
// image of the announced size or a fastpp::FormatError, never a crash or an out-of-bounds read.
#include <fastpp/data/fashion_mnist.hpp>
#include <fastpp/data/netpbm.hpp>

#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes(data, data + size);
  try {
    const fastpp::Image img = fastpp::decode_netpbm(bytes, "fuzz.ppm");
    if (img.rank() != 3 || img.size(2) != 3 || img.numel() < 3) std::abort();
  } catch (const fastpp::FormatError&) {
  }
  try {
    const auto im = fastpp::parse_idx_images(bytes, "fuzz-images");
    if (static_cast<std::int64_t>(im.pixels.size()) != im.count * im.rows * im.cols) std::abort();
  } catch (const fastpp::FormatError&) {
  }
  try {
    (void)fastpp::parse_idx_labels(bytes, "fuzz-labels");
  } catch (const fastpp::FormatError&) {
  }
  return 0;
}
