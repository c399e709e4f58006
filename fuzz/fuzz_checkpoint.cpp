// libFuzzer target for checkpoint files (learner/checkpoint_file.hpp): any bytes either parse into a
// checkpoint (safetensors with fastpp's format and version markers and a matching checksum) or raise
// fastpp::FormatError. What parses must serialize and parse back to the same content, and the typed
// getters must answer every tensor with a value or a FormatError. Anything else (a crash, a sanitizer
// report, another exception) is a bug. Seeds: fuzz/make_corpus_checkpoint.py.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fastpp/learner/checkpoint_file.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const fastpp::CheckpointFile f = fastpp::parse_checkpoint_bytes(data, size, "fuzz");
    if (f.meta.at("format") != fastpp::checkpoint_format || f.meta.at("version") != fastpp::checkpoint_version)
      std::abort();
    const auto again = fastpp::parse_checkpoint_bytes(fastpp::serialize_checkpoint(f), "fuzz-roundtrip");
    if (again.meta != f.meta || again.tensors.size() != f.tensors.size()) std::abort();
    for (const auto& [name, t] : f.tensors) {
      const auto& u = again.tensors.at(name);
      if (u.dtype != t.dtype || u.shape != t.shape || u.bytes != t.bytes) std::abort();
      // its own dtype and shape are always accepted; the typed getters answer or refuse cleanly
      if (&fastpp::require_tensor(f, "fuzz", name, t.dtype, t.shape) != &t) std::abort();
      try {
        (void)fastpp::get_f64s(f, "fuzz", name);
      } catch (const fastpp::FormatError&) {
      }
      try {
        (void)fastpp::get_u64(f, "fuzz", name);
      } catch (const fastpp::FormatError&) {
      }
    }
  } catch (const fastpp::FormatError&) {
  }
  return 0;
}
