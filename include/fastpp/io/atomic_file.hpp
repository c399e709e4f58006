#pragma once
// Crash-safe file replacement: write_file_atomic(path, bytes) leaves `path` holding either its previous
// contents or all of the new bytes, never a mix, even if the process is killed or the machine loses power
// midway. The classic POSIX recipe:
//
//   1. write the bytes to a new temporary file in the same directory (rename is atomic only within one
//      file system), checking every write;
//   2. fsync the temporary, so its data is on disk before its name can be;
//   3. rename it over `path` (atomic: readers see the old file or the new one);
//   4. fsync the directory, so the rename itself survives a power cut.
//
// A process killed between 1 and 3 leaves its temporary behind. Temporaries are named
// `.<file name>.<pid>.<counter>.tmp` beside the target: hidden, ending in ".tmp", never the target's name,
// so nothing mistakes one for the file. atomic_file_temporaries(path) lists them for a clean-up.
// POSIX only (open/write/fsync/rename); fastpp builds on Linux.
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/error.hpp"

namespace fastpp::io {

namespace detail {

inline std::string errno_text(int e) { return std::error_code(e, std::generic_category()).message(); }

// Closes a file descriptor on scope exit (on the error paths; the success path closes explicitly to check).
struct FdGuard {
  int fd = -1;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
};

inline std::filesystem::path atomic_temp_path(const std::filesystem::path& path) {
  static std::atomic<std::uint64_t> counter{0};
  const std::uint64_t n = counter.fetch_add(1, std::memory_order_relaxed);
  // Built with += : GCC 12's -Wrestrict misfires on "." + std::string + "." chains.
  std::string name = ".";
  name += path.filename().string();
  name += '.';
  name += std::to_string(::getpid());
  name += '.';
  name += std::to_string(n);
  name += ".tmp";
  return path.parent_path() / name;
}

inline std::filesystem::path directory_of(const std::filesystem::path& path) {
  return path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
}

}  // namespace detail

// Replaces `path` with `data[0, size)` atomically and durably (see above). On failure the temporary is
// removed, `path` is unchanged, and an IoError names the path, the step that failed and errno's text.
// The one exception is a failing fsync of the directory after the rename: the new file is then in place
// but may not survive a power cut, and the IoError says so.
inline void write_file_atomic(const std::filesystem::path& path, const void* data, std::size_t size) {
  namespace fs = std::filesystem;
  if (path.filename().empty())
    throw IoError(path.string(), "write_file_atomic: the path names a directory, not a file");
  const fs::path tmp = detail::atomic_temp_path(path);
  const auto fail = [&](const std::string& step, int e) {
    ::unlink(tmp.c_str());  // best effort: the temporary may not exist yet
    throw IoError(path.string(), "cannot write the file atomically: " + step + ": " + detail::errno_text(e));
  };

  detail::FdGuard f;
  // 0666 as for any new file: the umask decides the final permissions.
  f.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (f.fd < 0) {
    const int e = errno;
    throw IoError(path.string(), "cannot create the temporary file " + tmp.string() + " beside it: " +
                                     detail::errno_text(e));
  }
  const auto* p = static_cast<const std::uint8_t*>(data);
  std::size_t left = size;
  while (left > 0) {
    // Linux writes at most 0x7ffff000 bytes per call; a short write is not an error, so loop.
    const ::ssize_t w = ::write(f.fd, p, left);
    if (w < 0) {
      const int e = errno;
      if (e == EINTR) continue;
      fail("writing " + std::to_string(size) + " bytes to " + tmp.string() + " (" + std::to_string(size - left) +
               " written)",
           e);
    }
    if (w == 0) fail("writing to " + tmp.string() + " made no progress", EIO);
    p += w;
    left -= static_cast<std::size_t>(w);
  }
  if (::fsync(f.fd) != 0) {
    const int e = errno;
    fail("fsync of " + tmp.string(), e);
  }
  const int fd = f.fd;
  f.fd = -1;
  // close can report a delayed write error (NFS): a file that failed to close is not trusted.
  if (::close(fd) != 0) {
    const int e = errno;
    fail("closing " + tmp.string(), e);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    fail("renaming " + tmp.string() + " over it", e);
  }

  detail::FdGuard dir;
  dir.fd = ::open(detail::directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir.fd < 0) {
    const int e = errno;
    throw IoError(path.string(), "the new file is in place but its directory could not be opened to fsync "
                                 "the rename: " + detail::errno_text(e));
  }
  // Some file systems (certain FUSE and network ones) cannot fsync a directory and say EINVAL/ENOTSUP;
  // there the rename is as durable as that file system makes it, which is not an error of ours.
  if (::fsync(dir.fd) != 0 && errno != EINVAL && errno != ENOTSUP) {
    const int e = errno;  // read before the message's allocations
    throw IoError(path.string(), "the new file is in place but fsync of its directory failed (the rename may "
                                 "not survive a power cut): " + detail::errno_text(e));
  }
}

inline void write_file_atomic(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}
inline void write_file_atomic(const std::filesystem::path& path, std::string_view text) {
  write_file_atomic(path, text.data(), text.size());
}

// The temporaries that killed writers of `path` left behind (any process's), for a clean-up. Remove them
// only when no other process is writing `path` right now: a live writer's temporary is listed too.
inline std::vector<std::filesystem::path> atomic_file_temporaries(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::vector<fs::path> out;
  std::string prefix = ".";
  prefix += path.filename().string();
  prefix += '.';
  std::error_code ec;
  for (fs::directory_iterator it(detail::directory_of(path), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > prefix.size() + 4 && name.compare(0, prefix.size(), prefix) == 0 &&
        name.compare(name.size() - 4, 4, ".tmp") == 0) {
      // the middle must be <pid>.<counter>: digits and one dot, so "a.safetensors" never matches
      // ".a.safetensors.bak.tmp"-like names of other tools
      const std::string mid = name.substr(prefix.size(), name.size() - prefix.size() - 4);
      const auto dot = mid.find('.');
      const bool digits = dot != std::string::npos && dot > 0 && dot + 1 < mid.size() &&
                          mid.find_first_not_of("0123456789.") == std::string::npos &&
                          mid.find('.', dot + 1) == std::string::npos;
      if (digits) out.push_back(it->path());
    }
  }
  return out;
}

}  // namespace fastpp::io
