// libFuzzer target for vision's PGM/PPM decoder (what ImageBlock{.load = load_netpbm} reads). Any input
// must give an image of the announced size or a fastpp::FormatError, never a crash or an out-of-bounds read.
#include <fastpp/vision/netpbm.hpp>

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
  return 0;
}
