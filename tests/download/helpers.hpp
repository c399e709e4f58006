#pragma once
// Shared by the download tests: temporary folders, archives built at test time with libarchive's writer
// (honest and malicious ones), a snapshot of a folder tree, and the local HTTP server range_server.py.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace fastpp::test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/fastpp-download-test-XXXXXX";
    if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    path_ = fs::canonical(templ);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const fs::path& p) const { return path_ / p; }

 private:
  fs::path path_;
};

inline void write_file(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Deterministic bytes (the formula the hash references in test_hashes.cpp were computed with).
inline std::string pattern_bytes(std::size_t n, std::uint32_t seed = 0) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((static_cast<std::uint32_t>(i + seed) * 2654435761u) >> 13 & 0xff);
  return s;
}

// Bytes that do not compress (splitmix64), so archives have the size of their content.
inline std::string random_bytes(std::size_t n, std::uint64_t seed = 0) {
  std::string s(n, '\0');
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 12345;
  for (std::size_t i = 0; i < n; i += 8) {
    x += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (std::size_t k = 0; k < 8 && i + k < n; ++k) s[i + k] = static_cast<char>(z >> (8 * k));
  }
  return s;
}

// Every path under `root` (not following links) with what it is: "f <size> <content hash>", "d", "l <target>".
inline std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const auto rel = fs::relative(it->path(), root).string();
    if (it->is_symlink())
      out[rel] = "l " + fs::read_symlink(it->path()).string();
    else if (it->is_directory())
      out[rel] = "d";
    else
      out[rel] = "f " + std::to_string(std::hash<std::string>{}(read_file(it->path())));
  }
  return out;
}

// ---- archives -----------------------------------------------------------------------------------------

struct Entry {
  enum Kind { file, dir, symlink, hardlink, chardev, blockdev, fifo };
  std::string name;
  Kind kind = file;
  std::string data{};
  std::string link{};       // symlink or hard link target
  std::uint64_t zeros = 0;  // a file of this many zero bytes instead of `data` (for size limits)
};

enum class Format { tgz, tar, zip, tar_xz };

inline void write_archive(const fs::path& out, Format format, const std::vector<Entry>& entries) {
  archive* a = archive_write_new();
  switch (format) {
    case Format::tgz:
      archive_write_set_format_pax_restricted(a);
      archive_write_add_filter_gzip(a);
      break;
    case Format::tar:
      archive_write_set_format_pax_restricted(a);
      break;
    case Format::tar_xz:
      archive_write_set_format_pax_restricted(a);
      archive_write_add_filter_xz(a);
      break;
    case Format::zip:
      archive_write_set_format_zip(a);
      break;
  }
  if (archive_write_open_filename(a, out.c_str()) != ARCHIVE_OK)
    throw std::runtime_error(std::string("cannot write test archive: ") + archive_error_string(a));
  for (const auto& e : entries) {
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.name.c_str());
    archive_entry_set_mtime(ae, 1700000000, 0);
    std::uint64_t size = 0;
    switch (e.kind) {
      case Entry::file:
        size = e.zeros ? e.zeros : e.data.size();
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_perm(ae, 0644);
        break;
      case Entry::dir:
        archive_entry_set_filetype(ae, AE_IFDIR);
        archive_entry_set_perm(ae, 0755);
        break;
      case Entry::symlink:
        archive_entry_set_filetype(ae, AE_IFLNK);
        archive_entry_set_perm(ae, 0777);
        archive_entry_set_symlink(ae, e.link.c_str());
        break;
      case Entry::hardlink:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_perm(ae, 0644);
        archive_entry_set_hardlink(ae, e.link.c_str());
        break;
      case Entry::chardev:
        archive_entry_set_filetype(ae, AE_IFCHR);
        archive_entry_set_perm(ae, 0644);
        archive_entry_set_rdev(ae, makedev(1, 3));
        break;
      case Entry::blockdev:
        archive_entry_set_filetype(ae, AE_IFBLK);
        archive_entry_set_perm(ae, 0644);
        archive_entry_set_rdev(ae, makedev(8, 0));
        break;
      case Entry::fifo:
        archive_entry_set_filetype(ae, AE_IFIFO);
        archive_entry_set_perm(ae, 0644);
        break;
    }
    archive_entry_set_size(ae, static_cast<la_int64_t>(size));
    if (archive_write_header(a, ae) != ARCHIVE_OK)
      throw std::runtime_error(std::string("cannot write test entry: ") + archive_error_string(a));
    if (e.zeros) {
      const std::string chunk(1 << 20, '\0');
      for (std::uint64_t left = e.zeros; left > 0;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
        archive_write_data(a, chunk.data(), n);
        left -= n;
      }
    } else if (!e.data.empty()) {
      archive_write_data(a, e.data.data(), e.data.size());
    }
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// A small dataset as fastai's archives hold it: one root folder with images/ and annotations/.
inline std::vector<Entry> dataset_entries(const std::string& root = "pets", std::uint32_t seed = 0) {
  return {{root + "/", Entry::dir},
          {root + "/images/", Entry::dir},
          {root + "/images/great_pyrenees_173.jpg", Entry::file, pattern_bytes(70000, seed)},
          {root + "/images/Abyssinian_1.jpg", Entry::file, pattern_bytes(50000, seed + 1)},
          {root + "/annotations/list.txt", Entry::file, "Abyssinian_1 1 1 1\n"}};
}

// ---- the HTTP server ---------------------------------------------------------------------------------

inline std::string find_python() {
  if (access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && access((dir + "/python3").c_str(), X_OK) == 0) return dir + "/python3";
  return {};
}

// range_server.py serving `root` on 127.0.0.1. Stopped (and waited for) by the destructor; it also exits by
// itself when this process dies, because its stdin is a pipe from here.
class RangeServer {
 public:
  explicit RangeServer(const fs::path& root) : log_(root.parent_path() / "requests.log") {
    // The tests talk to 127.0.0.1 only: never through a proxy from the environment.
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    const std::string python = find_python();
    if (python.empty()) {
      std::fprintf(stderr, "SKIP: no python3 to run tests/download/range_server.py\n");
      std::exit(4);
    }
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    const std::string script = FASTPP_RANGE_SERVER, r = root.string(), l = log_.string();
    std::vector<char*> argv{const_cast<char*>(python.c_str()),
                            const_cast<char*>(script.c_str()),
                            const_cast<char*>("--root"),
                            const_cast<char*>(r.c_str()),
                            const_cast<char*>("--log"),
                            const_cast<char*>(l.c_str()),
                            nullptr};
    const int rc = posix_spawn(&pid_, python.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    if (rc != 0) {
      close(out[0]);
      close(stdin_);
      throw std::runtime_error("cannot start range_server.py");
    }
    std::string line;
    pollfd p{out[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && poll(&p, 1, 20000) > 0) {
      char buf[64];
      const ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    close(out[0]);
    if (line.rfind("PORT ", 0) != 0) {
      stop();
      throw std::runtime_error("range_server.py did not report its port: '" + line + "'");
    }
    port_ = std::stoi(line.substr(5));
  }
  RangeServer(const RangeServer&) = delete;
  RangeServer& operator=(const RangeServer&) = delete;
  ~RangeServer() { stop(); }

  void stop() {
    if (pid_ <= 0) return;
    close(stdin_);
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  int port() const { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + "/" + path; }
  // One "<path> <Range or ->" line per request received so far.
  std::vector<std::string> requests() const {
    std::vector<std::string> out;
    std::ifstream in(log_);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  int stdin_ = -1;
  int port_ = 0;
};

}  // namespace fastpp::test
