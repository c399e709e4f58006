#pragma once
// Device memory kept on free lists by size class, for a device whose own allocation call is slow and
// synchronising (cudaMalloc waits for the whole GPU): a training step asks for the same sizes every step, so
// only the first step reaches the device's allocator and later steps take blocks from the lists.
//
// The bookkeeping is plain C++ over a Raw pair, so the CPU tests run it with a counting fake and
// src/cuda/runtime.cu plugs in cudaMalloc/cudaFree:
//   void* Raw::allocate(std::size_t bytes);   // nullptr when the device is out of memory; throws otherwise
//   void Raw::release(void* p) noexcept;
//
// Sizes from block_cache_min_bytes (1 MiB) up take the cpu cache's classes (BlockCache::size_class: 16 per
// power of two, at most 6.25% more), smaller ones round up to 512 bytes, so nearby sizes serve each other.
// There is no limit: a request the device cannot meet frees every cached block and is tried once more, so
// cached memory never makes an allocation fail that would have succeeded without the cache.
//
// Streams: a released block is handed out again at once, but only to a request made for the same stream as
// the one the block was first allocated for (PyTorch's caching allocator's rule). Work queued on that stream
// after the release runs after the work that used the block before, so no event is needed; a block is never
// given to another stream, whose work could run while the first stream's still reads it. The stream is an
// opaque key here (runtime.cu passes the current cudaStream_t; null is the default stream). A tensor
// allocated on one stream and used on another must have that other stream's work finished before it is
// released (a Learner's stream is synchronised at the end of each fit, validate or get_preds).
#include <cstddef>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "block_cache.hpp"
#include "error.hpp"

namespace fastpp {

struct CachingAllocatorStats {
  std::size_t live_bytes = 0, live_blocks = 0;      // handed out and not released, in size-class bytes
  std::size_t cached_bytes = 0, cached_blocks = 0;  // on the free lists
  std::size_t hits = 0, misses = 0;                 // requests served from the lists, or not
  std::size_t raw_allocations = 0, raw_releases = 0;
};

template <class Raw>
class CachingAllocator {
 public:
  static constexpr std::size_t small_step = 512;

  // The size a request of `bytes` is allocated and kept under.
  static constexpr std::size_t size_class(std::size_t bytes) {
    if (bytes >= block_cache_min_bytes) return BlockCache::size_class(bytes);
    return bytes == 0 ? small_step : (bytes + small_step - 1) / small_step * small_step;
  }

  explicit CachingAllocator(Raw raw = Raw{}) : raw_(std::move(raw)) {}
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;
  // Frees the cached blocks; blocks still handed out belong to their owners.
  ~CachingAllocator() { release_cached(); }

  // A block of at least `bytes` for work on `stream`; throws fastpp::Error when the device has no room even
  // with the cache emptied.
  void* allocate(std::size_t bytes, const void* stream = nullptr) {
    const std::size_t size = size_class(bytes);
    std::lock_guard lock(mutex_);
    void* p = take_cached(size, stream);
    if (p) {
      ++stats_.hits;
    } else {
      ++stats_.misses;
      p = raw_allocate(size);
      if (!p) {
        const std::size_t freed = release_cached_locked();
        p = raw_allocate(size);
        check<Error>(p != nullptr, "out of device memory: ", bytes, " bytes asked for (", size,
                     " with rounding), ", stats_.live_bytes, " bytes in use by ", stats_.live_blocks,
                     " live blocks; the ", freed, " cached bytes were freed and the allocation tried again");
      }
    }
    try {
      live_.emplace(p, Pool{size, stream});
    } catch (...) {
      give_back(p, {size, stream});
      throw;
    }
    stats_.live_bytes += size;
    ++stats_.live_blocks;
    return p;
  }

  // Puts p on its free list; false (and p untouched) when p is not a live block of this allocator.
  bool release(void* p) noexcept {
    std::lock_guard lock(mutex_);
    const auto it = live_.find(p);
    if (it == live_.end()) return false;
    const Pool pool = it->second;
    live_.erase(it);
    stats_.live_bytes -= pool.size;
    --stats_.live_blocks;
    give_back(p, pool);
    return true;
  }

  // Gives every cached block back to the device; returns the bytes freed.
  std::size_t release_cached() noexcept {
    std::lock_guard lock(mutex_);
    return release_cached_locked();
  }

  CachingAllocatorStats stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

 private:
  // A free list: blocks of one size class, for one stream.
  struct Pool {
    std::size_t size;
    const void* stream;
    bool operator==(const Pool&) const = default;
  };
  struct PoolHash {
    std::size_t operator()(const Pool& k) const noexcept {
      return std::hash<std::size_t>{}(k.size) ^ (std::hash<const void*>{}(k.stream) * 31);
    }
  };

  void* take_cached(std::size_t size, const void* stream) {
    const auto it = free_.find(Pool{size, stream});
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();  // the most recently released: likeliest still in the device's caches
    it->second.pop_back();
    stats_.cached_bytes -= size;
    --stats_.cached_blocks;
    return p;
  }
  void* raw_allocate(std::size_t size) {
    void* p = raw_.allocate(size);
    if (p) ++stats_.raw_allocations;
    return p;
  }
  // Onto the free list, or straight back to the device where the list cannot grow (called from release()).
  void give_back(void* p, Pool pool) noexcept {
    const std::size_t size = pool.size;
    try {
      free_[pool].push_back(p);
      stats_.cached_bytes += size;
      ++stats_.cached_blocks;
    } catch (...) {
      raw_.release(p);
      ++stats_.raw_releases;
    }
  }
  std::size_t release_cached_locked() noexcept {
    const std::size_t freed = stats_.cached_bytes;
    for (auto& [pool, blocks] : free_) {
      for (void* p : blocks) raw_.release(p);
      stats_.raw_releases += blocks.size();
    }
    free_.clear();
    stats_.cached_bytes = 0;
    stats_.cached_blocks = 0;
    return freed;
  }

  Raw raw_;
  mutable std::mutex mutex_;
  std::unordered_map<Pool, std::vector<void*>, PoolHash> free_;  // (size class, stream) -> released blocks
  std::unordered_map<void*, Pool> live_;                           // handed-out block -> its size and stream
  CachingAllocatorStats stats_;
};

}  // namespace fastpp
