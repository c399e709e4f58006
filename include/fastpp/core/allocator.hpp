#pragma once
// Where a device's memory comes from. The cpu allocates 64-byte aligned blocks (one cache line, and
// enough for any SIMD load). The cuda allocator calls into the compiled fastpp::cuda library; a program
// built without it gets a clear error the first time it asks for cuda memory, not a link error.
#include <cstddef>
#include <cstring>
#include <new>

#include "device.hpp"
#include "error.hpp"

#if defined(FASTPP_WITH_CUDA)
namespace fastpp::cuda_runtime {
// Implemented in src/cuda/runtime.cu (library fastpp::cuda).
void* allocate(std::size_t bytes);
void release(void* p) noexcept;
void copy_to_device(void* dst, const void* src, std::size_t bytes);
void copy_to_host(void* dst, const void* src, std::size_t bytes);
void copy_on_device(void* dst, const void* src, std::size_t bytes);
}  // namespace fastpp::cuda_runtime
#endif

namespace fastpp {

inline constexpr std::size_t tensor_alignment = 64;

template <Device D>
struct allocator;

template <>
struct allocator<cpu> {
  static void* allocate(std::size_t bytes) {
    if (bytes == 0) bytes = 1;
    return ::operator new(bytes, std::align_val_t{tensor_alignment});
  }
  static void release(void* p) noexcept { ::operator delete(p, std::align_val_t{tensor_alignment}); }
};

template <>
struct allocator<cuda> {
#if defined(FASTPP_WITH_CUDA)
  static void* allocate(std::size_t bytes) { return cuda_runtime::allocate(bytes); }
  static void release(void* p) noexcept { cuda_runtime::release(p); }
#else
  [[noreturn]] static void* allocate(std::size_t) {
    throw UnavailableError(
        "a cuda tensor was requested, but this program was built without CUDA: configure with "
        "-DFASTPP_CUDA=ON and link fastpp::cuda");
  }
  static void release(void*) noexcept {}
#endif
};

// Copies bytes between devices; the direction is known from the types.
template <Device To, Device From>
void copy_bytes(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  if constexpr (std::is_same_v<To, cpu> && std::is_same_v<From, cpu>) {
    std::memcpy(dst, src, bytes);
  } else {
#if defined(FASTPP_WITH_CUDA)
    if constexpr (std::is_same_v<To, cuda> && std::is_same_v<From, cpu>) cuda_runtime::copy_to_device(dst, src, bytes);
    else if constexpr (std::is_same_v<To, cpu> && std::is_same_v<From, cuda>) cuda_runtime::copy_to_host(dst, src, bytes);
    else cuda_runtime::copy_on_device(dst, src, bytes);
#else
    (void)dst, (void)src;
    throw UnavailableError("copying to or from a cuda tensor needs a build with -DFASTPP_CUDA=ON");
#endif
  }
}

}  // namespace fastpp
