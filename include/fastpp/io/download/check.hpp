#pragma once
// What untar_data verifies about an archive: fastai's check (file size + MD5 of the first MiB, which catches
// a truncated download or a re-uploaded dataset cheaply) and, when the caller knows it, the SHA-256 of the
// whole file (which catches everything else).
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <fastpp/core/error.hpp>
#include <fastpp/io/download/md5.hpp>
#include <fastpp/io/download/sha256.hpp>

namespace fastpp {

// Each part that is set is verified; an empty FileCheck verifies nothing.
struct FileCheck {
  std::optional<std::uint64_t> size{};  // exact size in bytes
  std::string md5_first_mib{};          // 32 hex digits: MD5 of the first 2^20 bytes (fastai's check)
  std::string sha256{};                 // 64 hex digits: SHA-256 of the whole file
};

// fastai's path_stats: the size of a file and the MD5 of its first MiB.
struct PathStats {
  std::uint64_t size = 0;
  std::string md5_first_mib;
};

namespace detail {

inline std::ifstream open_for_check(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw IoError(file.string(), "cannot open the file to check it");
  return in;
}

inline std::string lower_hex(std::string s, const std::filesystem::path& file, std::size_t digits, const char* what) {
  check<ValueError>(s.size() == digits, "the expected ", what, " of ", file.string(), " must have ", digits,
                    " hex digits, got '", s, "'");
  for (char& c : s) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    check<ValueError>((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'), "the expected ", what, " of ", file.string(),
                      " is not hex: '", s, "'");
  }
  return s;
}

}  // namespace detail

inline PathStats path_stats(const std::filesystem::path& file) {
  auto in = detail::open_for_check(file);
  std::vector<char> head(std::size_t{1} << 20);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  const auto got = static_cast<std::size_t>(in.gcount());
  return {std::filesystem::file_size(file), Md5{}.update(head.data(), got).hexdigest()};
}

inline std::string sha256_file(const std::filesystem::path& file) {
  auto in = detail::open_for_check(file);
  Sha256 h;
  std::vector<char> buf(std::size_t{1} << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw IoError(file.string(), "read error while computing its SHA-256");
  return h.hexdigest();
}

// Why `file` fails `expected`, or an empty string when it passes. The cheap parts run first, so a truncated
// multi-GB archive is rejected without hashing it.
inline std::string check_failure(const std::filesystem::path& file, const FileCheck& expected) {
  if (!expected.size && expected.md5_first_mib.empty() && expected.sha256.empty()) return {};
  if (expected.size || !expected.md5_first_mib.empty()) {
    const PathStats got = path_stats(file);
    if (expected.size && got.size != *expected.size)
      return detail::msg("size is ", got.size, " bytes, expected ", *expected.size);
    if (!expected.md5_first_mib.empty()) {
      const auto want = detail::lower_hex(expected.md5_first_mib, file, 32, "MD5");
      if (got.md5_first_mib != want)
        return detail::msg("MD5 of the first MiB is ", got.md5_first_mib, ", expected ", want);
    }
  }
  if (!expected.sha256.empty()) {
    const auto want = detail::lower_hex(expected.sha256, file, 64, "SHA-256");
    const auto got = sha256_file(file);
    if (got != want) return detail::msg("SHA-256 is ", got, ", expected ", want);
  }
  return {};
}

inline bool passes_check(const std::filesystem::path& file, const FileCheck& expected) {
  return check_failure(file, expected).empty();
}

}  // namespace fastpp
