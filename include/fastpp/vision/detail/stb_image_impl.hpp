#pragma once
// stb_image's implementation, compiled into every translation unit that decodes images, with internal
// linkage (STB_IMAGE_STATIC): a header-only library has no .cpp of its own to put it in, and `static`
// functions cannot collide with another copy of stb_image in the user's program (or in Debian's
// libstb.so), whatever version that copy is. Debian's libstb-dev ships a compiled libstb.so too; we do not
// link it because (1) a header-only user would then need a link flag for something as basic as decoding,
// (2) the options below (formats, dimension limit, no stdio) are compile-time choices that a prebuilt
// library has already made, and (3) the fuzzer and the sanitizer builds must instrument stb's code, which
// only happens when it is compiled here.
//
// Compile time: stb's implementation costs a few seconds per translation unit (measured: 2.3 s for a TU
// with tensor.hpp alone, 8.2 s with image.hpp, g++ 12 -O2 on the loaded build machine). A project with
// many TUs that include fastpp/vision/image.hpp may compile it once instead: define FASTPP_STB_SEPARATE for
// the whole project, and FASTPP_STB_IMPLEMENTATION in exactly one .cpp before including image.hpp. stb's
// functions then have external (C) linkage, so that copy must be the program's only stb_image.
//
// Restriction: do not include this header in a translation unit that also defines STB_IMAGE_IMPLEMENTATION
// for its own copy of stb_image (the second definition of the same static names would clash).
//
// Configuration:
//  * JPEG, PNG and BMP only. GIF is refused on purpose (Debian's stb has open memory-safety bugs in its GIF
//    decoder); PSD, TGA, HDR, PIC and PNM are not image-dataset formats and only widen the attack surface.
//  * STBI_MAX_DIMENSIONS caps either side at 1 << 24 (stb's default); fastpp's own, stricter and configurable
//    limit (DecodeLimits) is checked on the header before stb allocates anything.
//  * STBI_MALLOC/REALLOC/FREE go through a per-thread cap on one allocation (see below).
//  * STBI_NO_STDIO: fastpp reads files itself (so it can name the file in every error and refuse empty ones).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace fastpp::detail {
// The largest single allocation stb may make on this thread; decode_image sets it from the header's
// dimensions (a few times the decoded size), so a small file cannot make stb allocate gigabytes (a PNG chunk
// that claims 2 GB, a zlib bomb): stb's malloc then fails and it reports "outofmem" as an error.
inline thread_local std::size_t stb_allocation_limit = SIZE_MAX;
inline void* stb_malloc(std::size_t n) { return n <= stb_allocation_limit ? std::malloc(n) : nullptr; }
inline void* stb_realloc(void* p, std::size_t n) { return n <= stb_allocation_limit ? std::realloc(p, n) : nullptr; }
inline void stb_free(void* p) { std::free(p); }
}  // namespace fastpp::detail

#if defined(FASTPP_STB_SEPARATE) && !defined(FASTPP_STB_IMPLEMENTATION)
// Declarations only: the one TU that defines FASTPP_STB_IMPLEMENTATION holds the code.
#define STBI_NO_STDIO
#include <stb_image.h>
// Defined in the one TU that holds stb's code (below), where stb's failure reason is visible.
extern "C" void fastpp_stbi_clear_failure_reason(void);
namespace fastpp::detail {
inline void stb_clear_failure_reason() { fastpp_stbi_clear_failure_reason(); }
}  // namespace fastpp::detail
#else
#define STBI_MALLOC(sz) ::fastpp::detail::stb_malloc(sz)
#define STBI_REALLOC(p, newsz) ::fastpp::detail::stb_realloc(p, newsz)
#define STBI_FREE(p) ::fastpp::detail::stb_free(p)
#if !defined(FASTPP_STB_SEPARATE)
#define STB_IMAGE_STATIC
#endif
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS (1 << 24)
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#include <stb_image.h>
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic pop
#endif
#undef STB_IMAGE_IMPLEMENTATION
// Resets stb's (thread-local) failure reason before a decode, so a reason is never one left over from an
// earlier file: stb has no public call for this, and its reason variable is visible only here.
#if defined(FASTPP_STB_SEPARATE)
extern "C" void fastpp_stbi_clear_failure_reason(void) { stbi__g_failure_reason = nullptr; }
namespace fastpp::detail {
inline void stb_clear_failure_reason() { fastpp_stbi_clear_failure_reason(); }
}  // namespace fastpp::detail
#else
namespace fastpp::detail {
inline void stb_clear_failure_reason() { stbi__g_failure_reason = nullptr; }
}  // namespace fastpp::detail
#endif
#endif
