#pragma once
// Freed cpu blocks of a mebibyte and more, kept for the next request of the same size.
//
// Why: a training step allocates the same tensors, of the same sizes, every step. Fresh memory costs a page
// fault per 4 KiB page the first time it is written (the kernel maps and zeroes it), and glibc hands large
// blocks back to the kernel when they are freed (munmap, or trimming the heap's top), so every step paid
// for its activations' pages again: 8.7% of the main job's network's training step (batch 256, 28x28,
// one thread) was the kernel's page-fault work. Exact sizes are enough to match, since steps repeat.
//
// The cache holds at most its limit in bytes (FASTPP_CPU_CACHE_MB, default 2048; 0 turns it off); a block
// that would go over it is freed. Each block it holds was a tensor's a moment ago, and the next tensor of that
// size takes it, so a training loop's memory stays what its tensors need. release_cached_memory() gives the
// blocks back (after training, say). Under AddressSanitizer it is off, so that a use after free is still
// caught.
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

namespace fastpp {

inline constexpr std::size_t block_cache_min_bytes = std::size_t{1} << 20;

struct BlockCacheStats {
  std::size_t held_bytes = 0, held_blocks = 0, limit_bytes = 0;
  std::size_t hits = 0, misses = 0;  // requests of block_cache_min_bytes or more served from the cache, or not
};

class BlockCache {
 public:
  explicit BlockCache(std::size_t limit_bytes) : limit_(limit_bytes) {}
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;
  ~BlockCache() { release_all(); }

  // A kept block of exactly `bytes`, or nullptr.
  void* take(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    const auto it = blocks_.find(bytes);
    if (it == blocks_.end()) {
      ++misses_;
      return nullptr;
    }
    void* p = it->second;
    blocks_.erase(it);
    held_ -= bytes;
    ++hits_;
    return p;
  }
  // Keeps p (allocated with std::malloc or posix_memalign, `bytes` long) if the limit allows; false when the
  // caller must free it (also when the cache cannot grow its table: it is called from deleters).
  bool keep(void* p, std::size_t bytes) noexcept {
    try {
      std::lock_guard lock(mutex_);
      if (held_ + bytes > limit_) return false;
      blocks_.emplace(bytes, p);
      held_ += bytes;
      return true;
    } catch (...) {
      return false;
    }
  }
  void release_all() {
    std::lock_guard lock(mutex_);
    for (auto& [bytes, p] : blocks_) std::free(p);
    blocks_.clear();
    held_ = 0;
  }
  void set_limit(std::size_t limit_bytes) {
    {
      std::lock_guard lock(mutex_);
      limit_ = limit_bytes;
      if (held_ <= limit_) return;
    }
    release_all();
  }
  BlockCacheStats stats() const {
    std::lock_guard lock(mutex_);
    return {held_, blocks_.size(), limit_, hits_, misses_};
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_multimap<std::size_t, void*> blocks_;
  std::size_t held_ = 0, limit_;
  std::size_t hits_ = 0, misses_ = 0;
};

}  // namespace fastpp
