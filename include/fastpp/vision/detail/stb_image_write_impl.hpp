#pragma once
// stb_image_write's PNG encoder, compiled with internal linkage (STB_IMAGE_WRITE_STATIC) for the same reasons
// as stb_image_impl.hpp: no link flag for a header-only user, no clash with another copy of stb
// (and the same opt-in FASTPP_STB_SEPARATE / FASTPP_STB_IMPLEMENTATION to compile it once).
// Only the in-memory PNG writer is used (stbi_write_png_to_func); no stdio.
#if defined(FASTPP_STB_SEPARATE) && !defined(FASTPP_STB_IMPLEMENTATION)
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>  // declarations only (see stb_image_impl.hpp)
#else
#if !defined(FASTPP_STB_SEPARATE)
#define STB_IMAGE_WRITE_STATIC
#endif
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#include <stb_image_write.h>
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic pop
#endif
#undef STB_IMAGE_WRITE_IMPLEMENTATION
#endif
