// libFuzzer target for safe extraction: any bytes, read as an archive, must either extract inside the
// destination or be refused with a fastpp::Error. A crash, a sanitizer report, another exception type, or a
// file appearing beside the destination is a bug.
#include <fastpp/io/download.hpp>

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>

namespace fs = std::filesystem;

namespace {

// One sandbox per fuzzing process; each input extracts into a fresh folder inside it.
const fs::path& sandbox() {
  // Never destroyed, so the exit handler below can still read it.
  static const fs::path* dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/fastpp-fuzz-untar-XXXXXX";
    if (!mkdtemp(templ.data())) std::abort();
    return new fs::path(fs::canonical(templ));
  }();
  static const bool cleanup_registered = [] {
    std::atexit([] {  // libFuzzer ends with exit(): leave no folder behind
      std::error_code ec;
      fs::remove_all(*dir, ec);
    });
    return true;
  }();
  (void)cleanup_registered;
  return *dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path dest = sandbox() / "dest";
  fs::create_directory(dest);
  // Small limits keep each run fast; the limit checks themselves are under test too.
  const fastpp::ExtractLimits limits{.max_bytes = 8 << 20, .max_ratio = 0, .ratio_floor = 0, .max_entries = 2000};
  try {
    fastpp::detail::extract_into({.file = {}, .memory = std::as_bytes(std::span(data, size)), .name = "fuzz-input"},
                                 dest, limits);
  } catch (const fastpp::Error&) {
    // refused: fine
  }
  // Nothing may appear beside the destination.
  for (const auto& e : fs::directory_iterator(sandbox())) {
    if (e.path() != dest) {
      std::fprintf(stderr, "fuzz_untar: extraction wrote outside its destination: %s\n", e.path().c_str());
      std::abort();
    }
  }
  fs::remove_all(dest);
  return 0;
}
