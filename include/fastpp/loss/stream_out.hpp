#pragma once
// Writing a large output without reading it first. A plain store to memory that is not in the cache makes
// the core fetch the line before overwriting it (a "read for ownership"), so an [N, C] gradient written
// with plain stores costs a read and a write of memory. When the output is larger than the caches that
// fetch is pure waste: the drivers then compute a few KiB of rows into a staging buffer that stays in L1
// and copy it out with non-temporal stores, which write whole lines without reading them (the fused
// cross-entropy kernel for long rows streams from its own L1 buffer instead, simd_fused.hpp). Measured on
// the project's machine (2-vCPU EPYC): a streaming copy moves 1.3x the bytes per second of a plain one.
//
// Small outputs keep plain stores: the next layer reads them back from the cache. Only float rows on an
// AVX host stream (the portable paths store directly).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__AVX__) && !defined(__CUDACC__)
#include <immintrin.h>
#define FASTPP_LOSS_STREAM 1
#endif

namespace fastpp::loss_detail {

// An output streams when the op's working set (the output and its inputs of the same size) is larger than
// the last-level cache: the output is then evicted before anything reads it, and fetching its lines first
// is waste. Smaller working sets keep plain stores, as the output may still be cached when it is read next.
// Measured on a 32 MiB L3: a 16 MiB softmax output rewritten again and again next to its 16 MiB input is
// 30% slower with streaming stores; a 64 MiB gradient is 25-30% faster; softmax_backward's 16 MiB dx next
// to y and dy (48 MiB in all) 2-8% faster. 32 MiB is the L3 one core sees on the project's machine (a Zen 3
// CCX). Not asked of the OS: in a VM sysconf reports the whole socket's 256 MiB. A build can set
// FASTPP_LOSS_STREAM_MIN_BYTES.
#ifndef FASTPP_LOSS_STREAM_MIN_BYTES
#define FASTPP_LOSS_STREAM_MIN_BYTES (std::size_t{32} << 20)
#endif
inline constexpr std::size_t stream_min_bytes = FASTPP_LOSS_STREAM_MIN_BYTES;
// Rows are computed into a staging buffer of this many floats (16 KiB: half of a 32 KiB L1 data cache,
// leaving room for the input rows being read).
inline constexpr std::int64_t staging_floats = 4096;

// Rows shorter than this do not stream: their kernels are bound by arithmetic, not memory, and streaming
// them through the staging buffer measured no gain (37 classes).
inline constexpr std::int64_t stream_min_row_length = 64;

// `inputs`: how many tensors of the output's size the op reads.
template <class T>
bool should_stream(std::int64_t rows, std::int64_t row_length, int inputs) {
#if defined(FASTPP_LOSS_STREAM)
  return std::is_same_v<T, float> && row_length >= stream_min_row_length && row_length <= staging_floats &&
         static_cast<std::size_t>(rows) * static_cast<std::size_t>(row_length) * sizeof(T) * static_cast<std::size_t>(inputs + 1) > stream_min_bytes;
#else
  (void)rows;
  (void)row_length;
  (void)inputs;
  return false;
#endif
}

// dst[0, count) = src[0, count) with non-temporal stores for the 64-byte lines dst covers whole; the
// partial lines at either end use plain stores (they may be shared with the neighbouring block).
inline void stream_copy(float* dst, const float* src, std::int64_t count) {
#if defined(FASTPP_LOSS_STREAM)
  auto* d = reinterpret_cast<unsigned char*>(dst);
  const auto* s = reinterpret_cast<const unsigned char*>(src);
  std::size_t bytes = static_cast<std::size_t>(count) * sizeof(float);
  const std::size_t head = std::min(bytes, (64 - reinterpret_cast<std::uintptr_t>(d) % 64) % 64);
  std::memcpy(d, s, head);
  d += head;
  s += head;
  bytes -= head;
  for (; bytes >= 64; bytes -= 64, d += 64, s += 64) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 32));
    _mm256_stream_si256(reinterpret_cast<__m256i*>(d), lo);
    _mm256_stream_si256(reinterpret_cast<__m256i*>(d + 32), hi);
  }
  std::memcpy(d, s, bytes);
#else
  std::memcpy(dst, src, static_cast<std::size_t>(count) * sizeof(float));
#endif
}

// Orders this thread's non-temporal stores before whatever it does next (the thread pool's hand-back),
// so other threads see the output complete.
inline void stream_fence() {
#if defined(FASTPP_LOSS_STREAM)
  _mm_sfence();
#endif
}

// Rows [r0, r1) of an output with `row_length` values per row: compute(i0, i1, out) writes rows [i0, i1)
// at `out` (leading dimension row_length). Direct when `stream` is false; otherwise through an L1 staging
// buffer, a whole number of `group` rows at a time, and streamed to `dst`.
template <class T, class Compute>
void write_rows(std::int64_t r0, std::int64_t r1, std::int64_t row_length, T* dst, bool stream, int group,
                Compute&& compute) {
  if constexpr (!std::is_same_v<T, float>) stream = false;  // should_stream says so too; stream_copy is float
  if (!stream) {
    compute(r0, r1, dst + r0 * row_length);
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    alignas(64) float staging[staging_floats];
    const std::int64_t fit = staging_floats / row_length;  // >= 1: should_stream checked row_length
    const std::int64_t step = fit >= group ? fit - fit % group : fit;
    for (std::int64_t i = r0; i < r1; i += step) {
      const std::int64_t e = std::min(r1, i + step);
      compute(i, e, staging);
      stream_copy(dst + i * row_length, staging, (e - i) * row_length);
    }
    stream_fence();
  }
}

}  // namespace fastpp::loss_detail
