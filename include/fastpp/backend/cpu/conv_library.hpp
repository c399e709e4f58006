#pragma once
// Which code runs the cpu's convolutions: oneDNN's kernels (the default where fastpp was built with
// oneDNN: FASTPP_HAVE_ONEDNN, which CMake sets when it finds Debian's libdnnl-dev) or fastpp's own
// im2col + GEMM. fastpp's own give the same bits for any thread count; oneDNN's the same bits for the same
// thread count, and more speed (docs/speed.md). FASTPP_CONV=fastpp (or =onednn) in the environment sets
// the default; set_conv_library changes it (not while a convolution runs).
#include <atomic>
#include <cstdlib>
#include <string_view>

#include "../../core/error.hpp"

#ifndef FASTPP_HAVE_ONEDNN
#define FASTPP_HAVE_ONEDNN 0
#endif

namespace fastpp {

enum class ConvLibrary { fastpp, onednn };

inline constexpr bool onednn_available = FASTPP_HAVE_ONEDNN != 0;

namespace detail {
inline ConvLibrary default_conv_library() {
  if (const char* env = std::getenv("FASTPP_CONV")) {
    const std::string_view v(env);
    if (v == "fastpp") return ConvLibrary::fastpp;
    check(v == "onednn" || v.empty(), "FASTPP_CONV must be 'fastpp' or 'onednn', got '", v, "'");
    check(v.empty() || onednn_available,
          "FASTPP_CONV=onednn, but this program was built without oneDNN (install Debian's libdnnl-dev and "
          "configure again)");
  }
  return onednn_available ? ConvLibrary::onednn : ConvLibrary::fastpp;
}
inline std::atomic<ConvLibrary>& conv_library_setting() {
  static std::atomic<ConvLibrary> setting{default_conv_library()};
  return setting;
}
}  // namespace detail

inline ConvLibrary conv_library() { return detail::conv_library_setting().load(std::memory_order_relaxed); }

inline void set_conv_library(ConvLibrary library) {
  check(library == ConvLibrary::fastpp || onednn_available,
        "set_conv_library(ConvLibrary::onednn): this program was built without oneDNN (install Debian's "
        "libdnnl-dev and configure again)");
  detail::conv_library_setting().store(library, std::memory_order_relaxed);
}

}  // namespace fastpp
