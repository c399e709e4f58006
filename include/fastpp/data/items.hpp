#pragma once
// Finding items: get_files / get_image_files, after fastai's, with two deliberate differences:
//   - the result is SORTED (by path, byte order per component), so a seeded RandomSplitter gives the
//     same split on every machine (fastai returns the file system's walk order);
//   - directory symlinks are followed with loop protection: a folder already walked (same canonical
//     path) is not entered twice, so a symlink loop ends the walk instead of hanging it. Real folders
//     are walked before linked ones, so a file reachable both ways is listed once, under its real path.
// Files and directories whose names start with '.' are skipped; extensions match case-insensitively;
// `folders` restricts only the top level (files directly in the root then need "." among the folders).
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <string>
#include <type_traits>
#include <system_error>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/list.hpp"

namespace fastpp {

namespace fs = std::filesystem;

// The extensions get_image_files accepts: those Python's mimetypes maps to image/* (fastai's
// image_extensions), as a fixed list. Decoding supports fewer (see ImageBlock).
inline const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> exts{".bmp", ".gif", ".ico", ".ief", ".jpe",  ".jpeg", ".jpg",
                                             ".pbm", ".pgm", ".png", ".pnm", ".ppm",  ".ras",  ".rgb",
                                             ".svg", ".tif", ".tiff", ".webp", ".xbm", ".xpm", ".xwd"};
  return exts;
}

struct GetFilesOptions {
  bool recurse = true;
  std::vector<std::string> folders = {};     // top-level subfolders to look in; empty: all
  std::vector<std::string> extensions = {};  // lower-case, with the dot; empty: every file
};

namespace detail {

inline std::string lower_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}
inline bool hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

// Component-wise path order (as Python sorts Path objects), computed on the strings: the separator
// counts as lower than every other byte, so "a/b" < "a-b" as ["a","b"] < ["a-b"]. About 4x faster than
// comparing std::filesystem::path objects, which split both paths into components on every comparison.
inline bool path_less(const fs::path& a, const fs::path& b) {
  const auto& x = a.native();
  const auto& y = b.native();
  return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end(), [](auto c, auto d) {
    const auto key = [](auto ch) {
      return ch == fs::path::preferred_separator ? 0u : static_cast<unsigned>(static_cast<std::make_unsigned_t<decltype(ch)>>(ch)) + 1u;
    };
    return key(c) < key(d);
  });
}

class FileWalker {
 public:
  explicit FileWalker(const GetFilesOptions& o) : opts_(o) {}

  std::vector<fs::path> run(const fs::path& root) {
    std::error_code ec;
    const auto st = fs::status(root, ec);
    if (ec || !fs::exists(st)) throw IoError(root.string(), "get_files: the folder does not exist");
    if (!fs::is_directory(st)) throw IoError(root.string(), "get_files: this is not a folder");
    walk_all(root);
    std::sort(out_.begin(), out_.end(), path_less);
    return std::move(out_);
  }

 private:
  bool wanted(const fs::path& p) const {
    if (hidden(p)) return false;
    if (opts_.extensions.empty()) return true;
    const std::string ext = lower_extension(p);
    return std::find(opts_.extensions.begin(), opts_.extensions.end(), ext) != opts_.extensions.end();
  }
  bool folder_allowed(const fs::path& dir, bool top) const {
    if (hidden(dir)) return false;
    if (!top || opts_.folders.empty()) return true;
    const std::string name = dir.filename().string();
    return std::find(opts_.folders.begin(), opts_.folders.end(), name) != opts_.folders.end();
  }
  bool root_files_allowed() const {
    return opts_.folders.empty() || std::find(opts_.folders.begin(), opts_.folders.end(), ".") != opts_.folders.end();
  }

  // Real folders first, then the folders reached through symlinks (each queued where it was found), so
  // a file reachable both ways is listed under its real path.
  void walk_all(const fs::path& root) {
    walk(root, true);
    while (!linked_.empty()) {
      auto [dir, top] = linked_.front();
      linked_.erase(linked_.begin());
      walk(dir, top);
    }
  }

  void walk(const fs::path& dir, bool top) {
    std::error_code ec;
    // The canonical path identifies a folder however it was reached: a second visit is a loop (or a
    // second link to the same folder), and is skipped.
    const fs::path canon = fs::canonical(dir, ec);
    if (ec) throw IoError(dir.string(), detail::msg("get_files: cannot resolve the folder: ", ec.message()));
    if (!visited_.insert(canon.string()).second) return;

    std::vector<fs::path> subdirs;
    fs::directory_iterator it(dir, ec), end;
    if (ec) throw IoError(dir.string(), detail::msg("get_files: cannot list the folder: ", ec.message()));
    for (; it != end; it.increment(ec)) {
      if (ec) throw IoError(dir.string(), detail::msg("get_files: cannot list the folder: ", ec.message()));
      const fs::path& p = it->path();
      std::error_code sec;
      // The entry's own type comes with the listing (no system call); only a symlink needs a stat to
      // see what it points to (a dangling link has no status and is skipped).
      const bool link = it->is_symlink(sec);
      if (sec) continue;
      const auto type = link ? fs::status(p, sec).type() : it->symlink_status(sec).type();
      if (sec) continue;
      if (type == fs::file_type::directory) {
        if (!opts_.recurse || !folder_allowed(p, top)) continue;
        if (link) linked_.push_back({p, false});
        else subdirs.push_back(p);
      } else if (type == fs::file_type::regular) {
        if ((!top || root_files_allowed()) && wanted(p)) out_.push_back(p);
      }
    }
    std::sort(subdirs.begin(), subdirs.end(), path_less);
    for (const auto& d : subdirs) walk(d, false);
  }

  const GetFilesOptions& opts_;
  std::set<std::string> visited_;
  std::vector<std::pair<fs::path, bool>> linked_;
  std::vector<fs::path> out_;
};

}  // namespace detail

// Every file under path whose extension is in opts.extensions (all files when empty), sorted.
inline L<fs::path> get_files(const fs::path& path, const GetFilesOptions& opts = {}) {
  GetFilesOptions o = opts;
  for (auto& e : o.extensions) {
    for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!e.empty() && e[0] != '.') e.insert(e.begin(), '.');
  }
  return L<fs::path>(detail::FileWalker(o).run(path));
}

struct GetImageFilesOptions {
  bool recurse = true;
  std::vector<std::string> folders = {};
};

// get_image_files(path, {.recurse, .folders}): the image files under path, sorted. A function object,
// so it can be handed to a DataBlock (a plain function would lose its default argument there).
struct GetImageFiles {
  L<fs::path> operator()(const fs::path& path, const GetImageFilesOptions& opts = {}) const {
    return get_files(path, GetFilesOptions{opts.recurse, opts.folders, image_extensions()});
  }
  std::string name() const { return "get_image_files"; }
};
inline constexpr GetImageFiles get_image_files{};

}  // namespace fastpp
