#pragma once
// fastpp's run-time errors. Every error says what went wrong, where (file, item, step) and which value
// caused it, so a user can fix the input without a debugger. All derive from fastpp::Error, which derives
// from std::runtime_error, so `catch (const std::exception&)` keeps working.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace fastpp {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A value outside what an operation accepts (a shape, an index, an option).
class ValueError : public Error {
 public:
  using Error::Error;
};

// Shapes that do not fit together (e.g. a tensor of rank 3 where rank 2 is needed).
class ShapeError : public ValueError {
 public:
  using ValueError::ValueError;
};

// An index outside its range.
class IndexError : public ValueError {
 public:
  using ValueError::ValueError;
};

// Reading or writing a file failed; path() names the file.
class IoError : public Error {
 public:
  IoError(std::string path, const std::string& what)
      : Error(what + " [file: " + path + "]"), path_(std::move(path)) {}
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// Bytes from outside (an image, an archive, a checkpoint) that are not what they claim to be.
class FormatError : public IoError {
 public:
  using IoError::IoError;
};

// A feature that this build of fastpp was compiled without (e.g. CUDA, libcurl).
class UnavailableError : public Error {
 public:
  using Error::Error;
};

namespace detail {
// Builds a message from any streamable parts: detail::msg("rank ", r, " is not in 1..4").
template <class... Parts>
std::string msg(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}
}  // namespace detail

// Throws E with a message built from parts, when cond is false.
template <class E = ValueError, class... Parts>
inline void check(bool cond, const Parts&... parts) {
  if (!cond) throw E(detail::msg(parts...));
}

}  // namespace fastpp
