#pragma once
// Safe extraction of an untrusted archive (tar, tar.gz/tgz, tar.bz2, tar.xz, tar.zst, zip) with libarchive.
//
// Every entry is checked before anything is written, and the archive is refused at its first bad entry:
//   - a path that is absolute or climbs with "..";
//   - a symbolic link whose target is absolute or leads outside the destination;
//   - a hard link whose target is not a regular file extracted earlier from the same archive;
//   - an entry that goes through a symbolic link extracted earlier;
//   - a device, FIFO or socket;
//   - more bytes or entries than ExtractLimits allow (a "zip bomb").
// libarchive's own guards (no "..", never write through a symlink) stay on as a second line, and after the
// last entry every symbolic link is resolved on disk and must stay inside. Errors are FormatErrors naming
// the archive and the entry.
#include <fastpp/io/download/requires.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fastpp/core/error.hpp>
#include <fastpp/core/regular_file.hpp>

namespace fastpp {

// How much an archive may expand. The byte budget is min(max_bytes, max(max_ratio * archive size,
// ratio_floor)): real datasets (JPEG/PNG in a tgz) expand about 1-10x, a zip bomb 1000x or more.
struct ExtractLimits {
  std::uint64_t max_bytes = std::uint64_t{64} << 30;    // 64 GiB of file data in total
  std::uint64_t max_ratio = 100;                        // 0: no ratio limit
  std::uint64_t ratio_floor = std::uint64_t{64} << 20;  // a small archive may always expand to 64 MiB
  std::uint64_t max_entries = 10'000'000;
};

namespace detail {

// An entry name as it may appear in a message: quoted, control and non-ASCII bytes as \xNN.
inline std::string quoted(std::string_view name) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "'";
  for (unsigned char c : name.substr(0, 300)) {
    if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'') {
      out += "\\x";
      out += digits[c >> 4];
      out += digits[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (name.size() > 300) out += "...";
  return out + "'";
}

// The components of an entry name, without "." and empty ones ("./a//b/" -> {a, b}). Sets `why` and returns
// nothing when the name is absolute or contains "..".
inline std::optional<std::vector<std::string>> entry_components(std::string_view name, std::string& why) {
  if (name.empty()) {
    why = "has an empty name";
    return std::nullopt;
  }
  if (name.front() == '/') {
    why = "has an absolute path";
    return std::nullopt;
  }
  std::vector<std::string> parts;
  std::size_t begin = 0;
  while (begin <= name.size()) {
    const std::size_t end = std::min(name.find('/', begin), name.size());
    const std::string_view part = name.substr(begin, end - begin);
    if (part == "..") {
      why = "climbs out of the destination with '..'";
      return std::nullopt;
    }
    if (!part.empty() && part != ".") parts.emplace_back(part);
    begin = end + 1;
  }
  return parts;
}

inline std::string join(const std::vector<std::string>& parts, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out;
}

// Whether a symlink at `link` (components inside the destination) with `target` stays inside, lexically.
inline bool symlink_target_inside(const std::vector<std::string>& link, std::string_view target, std::string& why) {
  if (target.empty()) {
    why = "is a symbolic link with an empty target";
    return false;
  }
  if (target.front() == '/') {
    why = "is a symbolic link to an absolute path";
    return false;
  }
  std::int64_t depth = static_cast<std::int64_t>(link.size()) - 1;  // the folder holding the link
  std::size_t begin = 0;
  while (begin <= target.size()) {
    const std::size_t end = std::min(target.find('/', begin), target.size());
    const std::string_view part = target.substr(begin, end - begin);
    if (part == "..") {
      if (--depth < 0) {
        why = "is a symbolic link pointing outside the destination";
        return false;
      }
    } else if (!part.empty() && part != ".") {
      ++depth;
    }
    begin = end + 1;
  }
  return true;
}

inline bool is_inside(const std::filesystem::path& root, const std::filesystem::path& p) {
  auto r = root.begin();
  auto q = p.begin();
  for (; r != root.end(); ++r, ++q)
    if (q == p.end() || *q != *r) return false;
  return true;
}

struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};

// Where the archive's bytes come from: a file, or memory (the fuzzer). `name` is what errors show.
struct ArchiveSource {
  std::filesystem::path file{};
  std::span<const std::byte> memory{};
  std::string name{};
  std::uint64_t size() const { return file.empty() ? memory.size() : std::filesystem::file_size(file); }
};

inline std::unique_ptr<archive, ArchiveReadDeleter> open_archive(const ArchiveSource& src) {
  std::unique_ptr<archive, ArchiveReadDeleter> a(archive_read_new());
  if (!a) throw Error("libarchive could not allocate a reader");
  // Only what datasets use: fewer formats, less untrusted parsing.
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  archive_read_support_format_zip(a.get());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_bzip2(a.get());
  archive_read_support_filter_xz(a.get());
  archive_read_support_filter_zstd(a.get());
  if (!src.file.empty()) require_regular_file(src.file, "archive");
  const int r = src.file.empty() ? archive_read_open_memory(a.get(), src.memory.data(), src.memory.size())
                                 : archive_read_open_filename(a.get(), src.file.c_str(), std::size_t{1} << 16);
  if (r != ARCHIVE_OK) {
    const char* e = archive_error_string(a.get());
    throw FormatError(src.name, std::string("cannot open the archive: ") + (e ? e : "unknown libarchive error"));
  }
  return a;
}

// Extracts `src` into the existing, empty folder `root` (a canonical path). Throws at the first bad entry and
// leaves what was written so far: the caller extracts into a temporary folder and removes it on failure.
inline void extract_into(const ArchiveSource& src, const std::filesystem::path& root, const ExtractLimits& limits) {
  namespace fs = std::filesystem;
  const std::uint64_t archive_size = src.size();
  std::uint64_t budget = limits.max_bytes;
  if (limits.max_ratio > 0) {
    const std::uint64_t by_ratio =
        archive_size > limits.max_bytes / limits.max_ratio ? limits.max_bytes : archive_size * limits.max_ratio;
    budget = std::min(budget, std::max(by_ratio, limits.ratio_floor));
  }

  auto in = open_archive(src);
  std::unique_ptr<archive, ArchiveWriteDeleter> out(archive_write_disk_new());
  if (!out) throw Error("libarchive could not allocate a disk writer");
  // No owner, no setuid/setgid, no ACLs or attributes: only data, modes under the umask, and times.
  archive_write_disk_set_options(
      out.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  archive_write_disk_set_standard_lookup(out.get());

  auto refuse = [&](std::string_view entry, const std::string& why) -> void {
    throw FormatError(src.name, "archive entry " + quoted(entry) + " " + why + ": the archive is refused");
  };
  auto read_error = [&](std::string_view entry, archive* a) -> void {
    const char* e = archive_error_string(a);
    throw FormatError(src.name, "archive entry " + quoted(entry) + ": " + (e ? e : "unknown libarchive error") +
                                    " (is the archive truncated or corrupt?)");
  };

  std::set<std::string> regular_files, symlinks;
  std::uint64_t entries = 0, total = 0;
  archive_entry* entry = nullptr;
  int r;
  while ((r = archive_read_next_header(in.get(), &entry)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
    const char* raw = archive_entry_pathname(entry);
    const std::string name = raw ? raw : "";
    if (++entries > limits.max_entries)
      refuse(name, detail::msg("is one entry more than the limit of ", limits.max_entries));
    std::string why;
    const auto parts = entry_components(name, why);
    if (!parts) refuse(name, why);
    const std::string rel = join(*parts, parts->size());
    for (std::size_t n = 1; n < parts->size(); ++n)
      if (symlinks.count(join(*parts, n))) refuse(name, "goes through the symbolic link '" + join(*parts, n) + "'");
    if (parts->empty()) {  // "./": the destination itself
      archive_read_data_skip(in.get());
      continue;
    }

    const char* hardlink = archive_entry_hardlink(entry);
    const auto type = archive_entry_filetype(entry);
    std::string link_rel;
    if (hardlink) {
      const auto target = entry_components(hardlink, why);
      if (!target) refuse(name, "is a hard link whose target " + quoted(hardlink) + " " + why);
      link_rel = join(*target, target->size());
      if (!regular_files.count(link_rel))
        refuse(name, "is a hard link to " + quoted(hardlink) +
                         ", which is not a regular file extracted earlier from this archive");
    } else if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(entry);
      if (!symlink_target_inside(*parts, target ? target : "", why))
        refuse(name, why + " (" + quoted(target ? target : "") + ")");
    } else if (type == AE_IFCHR || type == AE_IFBLK) {
      refuse(name, "is a device file");
    } else if (type == AE_IFIFO) {
      refuse(name, "is a FIFO");
    } else if (type == AE_IFSOCK) {
      refuse(name, "is a socket");
    } else if (type != AE_IFREG && type != AE_IFDIR) {
      refuse(name, detail::msg("has an unknown file type (", type, ")"));
    }

    const bool has_data = !hardlink && type == AE_IFREG;
    if (has_data && archive_entry_size_is_set(entry) && archive_entry_size(entry) > 0 &&
        static_cast<std::uint64_t>(archive_entry_size(entry)) > budget - total)
      refuse(name, detail::msg("would expand the archive beyond its limit of ", budget, " bytes (", archive_size,
                               " bytes compressed; see ExtractLimits)"));

    // The owner must be able to read the dataset and remove it; nothing setuid.
    const auto perm = archive_entry_perm(entry) & 0777;
    archive_entry_set_perm(entry, type == AE_IFDIR ? (perm | 0700) : (perm | 0600));
    archive_entry_set_pathname(entry, (root / rel).c_str());
    if (hardlink) {
      archive_entry_set_hardlink(entry, (root / link_rel).c_str());
      archive_entry_set_size(entry, 0);
    }

    if (archive_write_header(out.get(), entry) < ARCHIVE_WARN) read_error(name, out.get());
    if (has_data) {
      const void* buf = nullptr;
      std::size_t size = 0;
      la_int64_t offset = 0;
      std::uint64_t entry_end = 0;
      while ((r = archive_read_data_block(in.get(), &buf, &size, &offset)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        if (offset < 0) read_error(name, in.get());
        // Sparse holes count too: they take no disk here, but a reader sees them as bytes.
        entry_end = std::max(entry_end, static_cast<std::uint64_t>(offset) + size);
        if (entry_end > budget - total)
          refuse(name, detail::msg("would expand the archive beyond its limit of ", budget, " bytes (", archive_size,
                                   " bytes compressed; see ExtractLimits)"));
        if (archive_write_data_block(out.get(), buf, size, offset) < ARCHIVE_OK) read_error(name, out.get());
      }
      if (r != ARCHIVE_EOF) read_error(name, in.get());
      total += entry_end;
    } else {
      archive_read_data_skip(in.get());
    }
    if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN) read_error(name, out.get());

    if (type == AE_IFLNK && !hardlink) {
      symlinks.insert(rel);
      regular_files.erase(rel);
    } else if (type == AE_IFREG) {
      regular_files.insert(rel);
      symlinks.erase(rel);
    }
  }
  if (r != ARCHIVE_EOF) {
    const char* e = archive_error_string(in.get());
    throw FormatError(src.name, detail::msg("cannot read the archive after ", entries,
                                            " entries: ", e ? e : "unknown libarchive error",
                                            " (is it truncated, corrupt, or not a tar/zip archive?)"));
  }
  if (entries == 0) throw FormatError(src.name, "the archive holds no entries");
  if (archive_write_close(out.get()) != ARCHIVE_OK) read_error("(closing)", out.get());

  // Second line: a chain of links can escape where each link alone looks inside ("a" -> "." then "b" ->
  // "a/.."). Resolve every link on disk, now that all exist.
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_symlink()) continue;
    const fs::path resolved = fs::weakly_canonical(it->path().parent_path() / fs::read_symlink(it->path()));
    if (!is_inside(root, resolved))
      refuse(it->path().lexically_relative(root).string(), "is a symbolic link that resolves outside the destination");
  }
}

// Refuses (FormatError naming `archive_name` and the link, relative to `folder`) every symbolic link under
// `folder` that resolves outside it, following chains of links on disk. `entry_prefix` turns a path under
// `folder` back into the archive's entry name (the unwrapped root folder, "root/").
inline void refuse_links_outside(const std::filesystem::path& folder, const std::string& archive_name,
                                 const std::string& where, const std::string& entry_prefix = {}) {
  namespace fs = std::filesystem;
  for (auto it = fs::recursive_directory_iterator(folder); it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_symlink()) continue;
    const fs::path resolved = fs::weakly_canonical(it->path().parent_path() / fs::read_symlink(it->path()));
    if (!is_inside(folder, resolved))
      throw FormatError(archive_name, "archive entry " +
                                          fastpp::detail::quoted(entry_prefix + it->path().lexically_relative(folder).string()) +
                                          " is a symbolic link that resolves outside " + where +
                                          ": the archive is refused");
  }
}

inline void remove_all_quietly(const std::filesystem::path& p) noexcept {
  std::error_code ec;
  std::filesystem::remove_all(p, ec);
}

// A new, empty folder next to `near` (same file system, so a rename moves it into place atomically).
inline std::filesystem::path make_temp_dir(const std::filesystem::path& parent, const std::string& prefix) {
  std::string templ = (parent / (prefix + "XXXXXX")).string();
  if (!mkdtemp(templ.data())) throw IoError(templ, "cannot create a temporary folder");
  return templ;
}

}  // namespace detail

// Extracts the archive file into the folder `dest`, which must not exist yet. Everything is first written to a
// temporary folder beside `dest` and renamed into place at the end, so `dest` is either complete or absent.
inline std::filesystem::path extract_archive(const std::filesystem::path& archive_file,
                                             const std::filesystem::path& dest, const ExtractLimits& limits = {}) {
  namespace fs = std::filesystem;
  require_regular_file(archive_file, "archive");  // a FIFO is refused at once, not waited on
  if (fs::exists(fs::symlink_status(dest))) throw IoError(dest.string(), "the destination already exists");
  const fs::path parent = fs::absolute(dest).parent_path();
  fs::create_directories(parent);
  const fs::path tmp = detail::make_temp_dir(parent, "." + dest.filename().string() + ".partial-");
  try {
    detail::extract_into({.file = archive_file, .memory = {}, .name = archive_file.string()}, fs::canonical(tmp),
                         limits);
    fs::rename(tmp, dest);
  } catch (...) {
    detail::remove_all_quietly(tmp);
    throw;
  }
  return dest;
}

}  // namespace fastpp
