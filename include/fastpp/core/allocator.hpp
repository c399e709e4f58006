#pragma once
// Where a device's memory comes from. The cpu allocates 64-byte aligned blocks (one cache line, and
// enough for any SIMD load), large ones 2 MiB aligned for huge pages (below). The cuda allocator calls
// into the compiled fastpp::cuda library; a program built without it gets a clear error the first time
// it asks for cuda memory, not a link error.
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "device.hpp"
#include "env.hpp"
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

// Blocks of at least huge_page_threshold bytes are aligned to 2 MiB and, on Linux, marked for transparent
// huge pages (madvise MADV_HUGEPAGE), so the kernel can back them with 2 MiB pages where it has them.
//
// Why, measured on the project's 2-vCPU EPYC (KVM): a first touch of fresh memory costs a page fault per
// 4 KiB page, and allocating, filling and freeing 64 MiB ran at 1.2-1.4 GB/s on 4 KiB pages, 5.7 on huge
// pages. A pass over a large tensor takes a TLB miss per 4 KiB page, and the hardware prefetchers stop at
// every page boundary: the fused cross-entropy forward+backward ran 4-18% faster on huge pages at
// 262144 x 37 and 16384 x 1000 (1 and 2 threads, interleaved A/B in one process). Where the kernel's THP
// mode is "madvise" (this machine's, and a common default), nothing gets huge pages unless it asks.
// Why only from 32 MiB: that is glibc's largest mmap threshold, so such blocks are always fresh mappings of
// their own, and the advice touches nothing else. Smaller blocks come from the heap and are reused there
// without new page faults; advising heap ranges would split its mapping. The alignment costs address space
// only (up to 2 MiB a block, never touched).
// FASTPP_HUGE_PAGES=0 (or off, false, no) in the environment turns it off (read once).
inline constexpr std::size_t huge_page_bytes = std::size_t{2} << 20;
inline constexpr std::size_t huge_page_threshold = std::size_t{32} << 20;

namespace detail {
inline bool huge_pages_wanted() {
  static const bool wanted = env_switch("FASTPP_HUGE_PAGES").value_or(true);
  return wanted;
}
}  // namespace detail

template <>
struct allocator<cpu> {
  static void* allocate(std::size_t bytes) {
    if (bytes == 0) bytes = 1;
    const bool huge = bytes >= huge_page_threshold && detail::huge_pages_wanted();
    void* p = nullptr;
    // posix_memalign, not aligned operator new: release() gets no size, and free() takes either alignment
    if (::posix_memalign(&p, huge ? huge_page_bytes : tensor_alignment, bytes) != 0) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // advice only: without THP in the kernel it fails with EINVAL and the block stays on 4 KiB pages
    if (huge) (void)::madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
  }
  static void release(void* p) noexcept { std::free(p); }
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
