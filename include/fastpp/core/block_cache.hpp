#pragma once
// Freed cpu blocks of a mebibyte and more, kept for the next request of their size class.
//
// Why: a training step allocates the same tensors, of the same sizes, every step. Fresh memory costs a page
// fault per 4 KiB page the first time it is written (the kernel maps and zeroes it), and glibc hands large
// blocks back to the kernel when they are freed (munmap, or trimming the heap's top), so every step paid
// for its activations' pages again: 8.7% of the main job's network's training step (batch 256, 28x28,
// one thread) was the kernel's page-fault work.
//
// Sizes are rounded up to one of 16 classes per power of two (at most 6.25% more address space; the tail of
// a fresh block is never touched, so it costs no memory until a larger request of the class uses it), so
// that tensors of nearby sizes, such as decoded photographs of different shapes, serve each other. The cache
// holds at most its limit in bytes (FASTPP_CPU_CACHE_MB, default 2048; 0 turns it off): keeping a block past
// the limit frees the blocks kept longest ago, so sizes that stop coming back age out.
// release_cached_memory() gives every block back (after training, say). Under AddressSanitizer it is off,
// so that a use after free is still caught.
#include <bit>
#include <cstddef>
#include <cstdlib>
#include <list>
#include <mutex>
#include <unordered_map>

namespace fastpp {

inline constexpr std::size_t block_cache_min_bytes = std::size_t{1} << 20;

struct BlockCacheStats {
  std::size_t held_bytes = 0, held_blocks = 0, limit_bytes = 0;
  std::size_t hits = 0, misses = 0;  // requests of block_cache_min_bytes or more served from the cache, or not
  std::size_t evicted = 0;           // blocks freed to make room for newer ones
};

class BlockCache {
 public:
  explicit BlockCache(std::size_t limit_bytes) : limit_(limit_bytes) {}
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;
  ~BlockCache() { release_all(); }

  // The size a request of `bytes` is allocated with: from block_cache_min_bytes up, rounded up to a multiple
  // of 1/16 of its power of two.
  static constexpr std::size_t size_class(std::size_t bytes) {
    if (bytes < block_cache_min_bytes) return bytes;
    const std::size_t step = std::size_t{1} << (std::bit_width(bytes) - 1 - 4);
    return (bytes + step - 1) / step * step;
  }

  // A kept block of exactly `bytes` (a size class), or nullptr.
  void* take(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    const auto it = by_size_.find(bytes);
    if (it == by_size_.end()) {
      ++misses_;
      return nullptr;
    }
    void* p = it->second->p;
    order_.erase(it->second);
    by_size_.erase(it);
    held_ -= bytes;
    ++hits_;
    return p;
  }
  // Keeps p (allocated with std::malloc or posix_memalign, `bytes` long), freeing the blocks kept longest ago
  // while the limit needs it; false when the caller must free p itself: a block larger than the limit, or a
  // table that cannot grow (it is called from deleters).
  bool keep(void* p, std::size_t bytes) noexcept {
    try {
      std::lock_guard lock(mutex_);
      if (bytes > limit_) return false;
      while (held_ + bytes > limit_) evict_oldest();
      order_.push_back({bytes, p});
      try {
        by_size_.emplace(bytes, std::prev(order_.end()));
      } catch (...) {
        order_.pop_back();
        throw;
      }
      held_ += bytes;
      return true;
    } catch (...) {
      return false;
    }
  }
  void release_all() {
    std::lock_guard lock(mutex_);
    for (const Kept& k : order_) std::free(k.p);
    order_.clear();
    by_size_.clear();
    held_ = 0;
  }
  void set_limit(std::size_t limit_bytes) {
    std::lock_guard lock(mutex_);
    limit_ = limit_bytes;
    while (held_ > limit_) evict_oldest();
  }
  BlockCacheStats stats() const {
    std::lock_guard lock(mutex_);
    return {held_, order_.size(), limit_, hits_, misses_, evicted_};
  }

 private:
  struct Kept {
    std::size_t bytes;
    void* p;
  };
  void evict_oldest() {
    const auto oldest = order_.begin();
    auto b = by_size_.equal_range(oldest->bytes).first;
    while (b->second != oldest) ++b;  // the same-size blocks are few
    by_size_.erase(b);
    std::free(oldest->p);
    held_ -= oldest->bytes;
    order_.erase(oldest);
    ++evicted_;
  }

  mutable std::mutex mutex_;
  std::list<Kept> order_;  // kept longest ago first
  std::unordered_multimap<std::size_t, std::list<Kept>::iterator> by_size_;
  std::size_t held_ = 0, limit_;
  std::size_t hits_ = 0, misses_ = 0, evicted_ = 0;
};

}  // namespace fastpp
