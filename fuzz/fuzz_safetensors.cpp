// libFuzzer target for the .safetensors parser: any bytes either parse into tensors whose data lies
// inside the input, or raise fastpp::FormatError. Anything else (a crash, a sanitizer report, another
// exception) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fastpp/io/safetensors.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto st = fastpp::io::parse_safetensors(data, size, "fuzz");
    std::size_t total = 0;
    for (const auto& [name, t] : st.tensors) {
      if (t.bytes.size() != static_cast<std::size_t>(t.numel()) * fastpp::io::st_dtype_size(t.dtype)) std::abort();
      total += t.bytes.size();
      if (t.numel() > 0) (void)t.at(t.numel() - 1);
    }
    if (total > size) std::abort();
    // what parses must serialize and parse back to the same tensors
    const auto again = fastpp::io::parse_safetensors(fastpp::io::serialize_safetensors(st), "fuzz-roundtrip");
    if (again.tensors.size() != st.tensors.size() || again.metadata != st.metadata) std::abort();
  } catch (const fastpp::FormatError&) {
  }
  return 0;
}
