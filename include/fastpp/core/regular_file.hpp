#pragma once
// Reading a whole file that must be a regular file: images, weights, checkpoints and archives all come in
// through here (or through require_regular_file), so a path that names a FIFO, a socket, a device or a
// folder is refused at once with an IoError naming the path, instead of blocking forever (a FIFO without a
// writer) or failing later with std::ios_base::failure.
//
// The file is opened with O_NONBLOCK and checked with fstat on the descriptor itself, so the check and the
// read concern the same file (no window in which the path can be swapped for a FIFO).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"

namespace fastpp {

namespace detail {
// What a non-regular st_mode is, in words a user recognises.
inline const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder (a directory), not a file";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe), not a regular file";
  if (S_ISSOCK(mode)) return "a socket, not a regular file";
  if (S_ISCHR(mode)) return "a character device, not a regular file";
  if (S_ISBLK(mode)) return "a block device, not a regular file";
  return "not a regular file";
}

inline std::string cannot_read(std::string_view what) { return "cannot read the " + std::string(what) + ": "; }

// Owns a descriptor for the duration of one read.
struct ReadFd {
  int fd = -1;
  ~ReadFd() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace detail

// Throws IoError naming `path` unless it is a regular file (a symbolic link to one is fine). Does not open
// it, so it never blocks. For callers that hand the path to another library (libarchive).
inline void require_regular_file(const std::filesystem::path& path, std::string_view what = "file") {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) throw IoError(path.string(), detail::cannot_read(what) + "the file does not exist");
    throw IoError(path.string(), detail::cannot_read(what) + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) throw IoError(path.string(), detail::cannot_read(what) + "it is " + detail::file_kind(st.st_mode));
}

// The whole content of the regular file `path`, at most max_bytes long; IoError naming the path (and `what`
// it was meant to be, e.g. "image", "safetensors file") when it is missing, not a regular file, too large
// or cannot be read.
inline std::vector<std::uint8_t> read_regular_file(const std::filesystem::path& path, std::string_view what = "file",
                                                   std::int64_t max_bytes = INT64_MAX) {
  detail::ReadFd f;
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  f.fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (f.fd < 0) {
    const int err = errno;
    if (err == ENOENT) throw IoError(path.string(), detail::cannot_read(what) + "the file does not exist");
    throw IoError(path.string(), detail::cannot_read(what) + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw IoError(path.string(), detail::cannot_read(what) + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw IoError(path.string(), detail::cannot_read(what) + "it is " + detail::file_kind(st.st_mode));
  const auto size = static_cast<std::int64_t>(st.st_size);
  if (size > max_bytes)
    throw IoError(path.string(), detail::cannot_read(what) + "the file is too large (" + std::to_string(size) +
                                     " bytes, limit " + std::to_string(max_bytes) + ")");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(f.fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IoError(path.string(), detail::cannot_read(what) + "read error: " + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got != bytes.size())
    throw IoError(path.string(), detail::cannot_read(what) + "read " + std::to_string(got) + " of " +
                                     std::to_string(bytes.size()) + " bytes (did the file change while being read?)");
  return bytes;
}

}  // namespace fastpp
