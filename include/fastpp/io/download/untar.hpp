#pragma once
// untar_data: fastai's one call from a dataset URL to a ready folder, with fastai's cache layout
// ($FASTPP_HOME/archive/<file>, $FASTPP_HOME/data/<name>) and fastdownload's order of decisions:
//   1. the extracted folder exists (and no force): return it, without any check or network;
//   2. the archive is cached and passes its check: use it; fails: download it again;
//   3. extract into a temporary folder beside the destination, unwrap a single root folder, rename into place.
// A lock file per archive makes concurrent calls (threads or processes) download and extract once.
#include <fastpp/io/download/requires.hpp>

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <fastpp/core/env.hpp>
#include <fastpp/core/error.hpp>
#include <fastpp/io/download/archive.hpp>
#include <fastpp/io/download/check.hpp>
#include <fastpp/io/download/http.hpp>
#include <fastpp/io/download/urls.hpp>

namespace fastpp {

struct UntarOptions {
  std::filesystem::path dest{};         // folder that receives <name>/ (fastai's `data`); empty: $FASTPP_HOME/data
  bool force_download = false;          // download and extract again, replacing archive and folder
  std::optional<FileCheck> check{};     // empty: fastai's registered check for this URL (urls.hpp), if any
  std::filesystem::path archive_dir{};  // where archives are cached; empty: $FASTPP_HOME/archive
  bool offline = false;                 // never touch the network (also when FASTPP_OFFLINE=1)
  ExtractLimits limits{};
  DownloadOptions download{};
};

// $FASTPP_HOME, or ~/.fastpp (fastai's ~/.fastai).
inline std::filesystem::path fastpp_home() {
  if (const char* h = std::getenv("FASTPP_HOME"); h && *h) return h;
  if (const char* h = std::getenv("HOME"); h && *h) return std::filesystem::path(h) / ".fastpp";
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return std::filesystem::path(pw->pw_dir) / ".fastpp";
  throw IoError("~/.fastpp", "cannot find the home folder: set FASTPP_HOME");
}

// The file name a URL is saved under: its last path segment, without query or fragment.
inline std::string url_file_name(std::string_view url) {
  std::string_view s = url;
  if (const auto scheme = s.find("://"); scheme != std::string_view::npos) s.remove_prefix(scheme + 3);
  s = s.substr(0, s.find_first_of("?#"));
  const auto slash = s.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? std::string_view{} : s.substr(slash + 1);
  check<ValueError>(!name.empty() && name != "." && name != "..", "cannot tell the archive's file name from the URL '",
                    url, "': it must end in /<file>");
  return std::string(name);
}

// The folder name an archive extracts to, as fastai: the name without its last suffix, then without ".tar"
// ("oxford-iiit-pet.tgz" -> "oxford-iiit-pet", "x.tar.gz" -> "x", "y.zip" -> "y").
inline std::string archive_stem(const std::filesystem::path& archive_file) {
  std::string stem = archive_file.stem().string();
  if (stem.size() > 4 && stem.ends_with(".tar")) stem.resize(stem.size() - 4);
  return stem;
}

namespace detail {

// An exclusive flock(2) on a lock file, held for the object's lifetime.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& file) {
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw IoError(file.string(), "cannot create the lock file");
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(fd_);
        throw IoError(file.string(), "cannot lock the lock file");
      }
    }
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_ = -1;
};

// An IoError's message without the " [file: ...]" that IoError appends.
inline std::string reason_of(const IoError& e) {
  const std::string what = e.what(), suffix = " [file: " + e.path() + "]";
  return what.ends_with(suffix) ? what.substr(0, what.size() - suffix.size()) : what;
}

// Temporary folders of interrupted extractions of `stem` (only called while holding the archive's lock).
inline void remove_stale_temps(const std::filesystem::path& data_dir, const std::string& stem) {
  std::error_code ec;
  if (!std::filesystem::is_directory(data_dir, ec)) return;
  const std::string partial = "." + stem + ".partial-", old = "." + stem + ".old-";
  for (const auto& e : std::filesystem::directory_iterator(data_dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.starts_with(partial) || n.starts_with(old)) remove_all_quietly(e.path());
  }
}

}  // namespace detail

// fastcore's untar_dir(archive, data_dir, rename=True, overwrite): extracts to data_dir/<stem>. When the archive
// holds a single folder at its root, that folder's content is the result (no doubled name). An existing result
// is returned as it is unless `overwrite`, which replaces it. The result appears complete or not at all.
inline std::filesystem::path untar_dir(const std::filesystem::path& archive_file, const std::filesystem::path& data_dir,
                                       bool overwrite = false, const ExtractLimits& limits = {}) {
  namespace fs = std::filesystem;
  const std::string stem = archive_stem(archive_file);
  const fs::path dest = data_dir / stem;
  if (!overwrite && fs::exists(fs::symlink_status(dest))) return dest;
  require_regular_file(archive_file, "archive");  // a FIFO is refused at once, not waited on
  fs::create_directories(data_dir);
  const fs::path tmp = detail::make_temp_dir(data_dir, "." + stem + ".partial-");
  fs::path stage;
  try {
    const fs::path root = fs::canonical(tmp);
    detail::extract_into({.file = archive_file, .memory = {}, .name = archive_file.string()}, root, limits);
    fs::path src = root;
    auto it = fs::directory_iterator(root);
    if (it != fs::directory_iterator()) {
      const fs::directory_entry only = *it;
      if (++it == fs::directory_iterator() && only.is_directory() && !only.is_symlink()) src = only.path();
    }
    if (src == root)  // mkdtemp made it private; a dataset folder gets the usual mode
      fs::permissions(root, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);
    // Symbolic links are checked where the dataset will live. extract_into checked them against the
    // extraction folder, but once a single root folder is unwrapped, `root/up -> ..` points at data_dir
    // itself (and `root/x -> ../root/f` at data_dir/root/f). So the result is first moved to
    // stage/<stem>, a fresh folder beside the destination holding nothing else: what lies above it there
    // mirrors data_dir/<stem>, and a link that resolves outside stage/<stem> would resolve outside the
    // dataset folder after the final rename.
    const std::string entry_prefix = src == root ? std::string{} : src.filename().string() + "/";
    stage = fs::canonical(detail::make_temp_dir(data_dir, "." + stem + ".partial-"));
    fs::rename(src, stage / stem);
    src = stage / stem;
    detail::refuse_links_outside(src, archive_file.string(), "the dataset folder once extracted", entry_prefix);
    if (fs::exists(fs::symlink_status(dest))) {
      if (!overwrite) {  // another process finished first
        detail::remove_all_quietly(tmp);
        detail::remove_all_quietly(stage);
        return dest;
      }
      const fs::path old = detail::make_temp_dir(data_dir, "." + stem + ".old-");
      fs::rename(dest, old / "previous");
      fs::rename(src, dest);
      detail::remove_all_quietly(old);
    } else {
      fs::rename(src, dest);
    }
    detail::remove_all_quietly(tmp);
    detail::remove_all_quietly(stage);
  } catch (...) {
    detail::remove_all_quietly(tmp);
    if (!stage.empty()) detail::remove_all_quietly(stage);
    throw;
  }
  return dest;
}

// Downloads (once) and extracts (once) the dataset at `url`; returns the extracted folder. See the top of
// this file for the order of decisions, and docs/download.md.
inline std::filesystem::path untar_data(std::string_view url, const UntarOptions& opts = {}) {
  namespace fs = std::filesystem;
  const std::string u(url);
  const std::string fname = url_file_name(u);
  const fs::path archive_dir = opts.archive_dir.empty() ? fastpp_home() / "archive" : opts.archive_dir;
  const fs::path data_dir = opts.dest.empty() ? fastpp_home() / "data" : opts.dest;
  const fs::path archive_file = archive_dir / fname;
  const fs::path data = data_dir / archive_stem(fname);
  if (!opts.force_download && fs::is_directory(data)) return data;  // fastai: no check, no network
  const bool offline = opts.offline || detail::env_switch("FASTPP_OFFLINE").value_or(false);
  const std::string by_hand = "download " + u + " by hand and place it at " + archive_file.string() +
                              " (or its extracted folder at " + data.string() + ")";
  if (offline && opts.force_download)
    throw IoError(archive_file.string(), "force_download needs the network, but downloads are off (offline)");
  if (offline && !fs::is_regular_file(archive_file))  // fail at once, before creating anything
    throw IoError(archive_file.string(), u + " is not in the cache and downloads are off (offline): " + by_hand);

  fs::create_directories(archive_dir);
  detail::FileLock lock(archive_dir / (fname + ".lock"));
  if (!opts.force_download && fs::is_directory(data)) return data;  // made while we waited for the lock

  FileCheck expected;
  if (opts.check)
    expected = *opts.check;
  else if (const auto known = urls::find_by_url(u))
    expected = FileCheck{.size = known->size, .md5_first_mib = std::string(known->md5_first_mib), .sha256 = {}};

  bool need_download = true;
  if (!opts.force_download && fs::is_regular_file(archive_file)) {
    const std::string why = check_failure(archive_file, expected);
    if (why.empty()) {
      need_download = false;
    } else if (offline) {
      throw FormatError(archive_file.string(),
                        "the cached archive fails its check (" + why + ") and downloads are off (offline); " + by_hand);
    } else {
      std::fprintf(stderr, "Downloading a new version of %s (the cached archive's %s)...\n", fname.c_str(),
                   why.c_str());
    }
  }
  if (need_download) {
    if (offline)
      throw IoError(archive_file.string(), u + " is not in the cache and downloads are off (offline): " + by_hand);
    if (opts.force_download) fs::remove(archive_file.string() + ".part");
    try {
      download_url(u, archive_file, expected, opts.download);
    } catch (const DownloadError& e) {
      if (!e.unreachable()) throw;
      throw DownloadError(archive_file.string(), e.reason() + "; to work offline, " + by_hand, u, true);
    }
  }
  detail::remove_stale_temps(data_dir, archive_stem(fname));
  try {
    return untar_dir(archive_file, data_dir, opts.force_download, opts.limits);
  } catch (const FormatError& e) {
    throw FormatError(archive_file.string(), detail::reason_of(e) + "; the archive stays cached at " +
                                                 archive_file.string() +
                                                 ": delete it or pass force_download to download it again");
  }
}

}  // namespace fastpp
