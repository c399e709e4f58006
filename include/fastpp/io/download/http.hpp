#pragma once
// download_url: one file over HTTP(S) with libcurl, written to <dest>.part and renamed to <dest> only after it
// is complete and verified. A dropped connection resumes with a Range request, and so does a .part left by an
// earlier, interrupted run; a server that ignores Range (answers 200) makes it start over.
#include <fastpp/io/download/requires.hpp>

#include <curl/curl.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <fastpp/core/error.hpp>
#include <fastpp/io/download/check.hpp>
#include <fastpp/io/download/progress.hpp>

namespace fastpp {

struct DownloadOptions {
  Progress progress = Progress::automatic;
  int retries = 5;              // failed attempts in a row (no byte received) before giving up
  long connect_timeout_s = 30;  // per connection attempt
  long stall_timeout_s = 60;    // abort an attempt that receives nothing for this long
  double retry_delay_s = 1.0;   // first pause before resuming; doubles up to 30 s
};

// A download that failed; `unreachable()` when no connection could be made at all (offline, wrong host).
class DownloadError : public IoError {
 public:
  DownloadError(std::string path, const std::string& what, std::string url, bool unreachable)
      : IoError(std::move(path), what), reason_(what), url_(std::move(url)), unreachable_(unreachable) {}
  const std::string& reason() const noexcept { return reason_; }  // what() without the file name
  const std::string& url() const noexcept { return url_; }
  bool unreachable() const noexcept { return unreachable_; }

 private:
  std::string reason_;
  std::string url_;
  bool unreachable_;
};

namespace detail {

inline void curl_global_init_once() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) throw Error(std::string("libcurl failed to initialise: ") + curl_easy_strerror(rc));
}

inline bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

inline bool is_http_url(std::string_view url) {
  return starts_with_nocase(url, "http://") || starts_with_nocase(url, "https://");
}

// "bytes 100-199/1000" -> start 100, total 1000 (total absent when "*").
inline bool parse_content_range(std::string_view v, std::uint64_t& start, std::optional<std::uint64_t>& total) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  if (!starts_with_nocase(v, "bytes ")) return false;
  v.remove_prefix(6);
  auto number = [&](std::uint64_t& out) {
    if (v.empty() || v.front() < '0' || v.front() > '9') return false;
    out = 0;
    while (!v.empty() && v.front() >= '0' && v.front() <= '9') {
      if (out > (UINT64_MAX - 9) / 10) return false;
      out = out * 10 + static_cast<std::uint64_t>(v.front() - '0');
      v.remove_prefix(1);
    }
    return true;
  };
  std::uint64_t end = 0;
  if (!number(start) || v.empty() || v.front() != '-') return false;
  v.remove_prefix(1);
  if (!number(end) || v.empty() || v.front() != '/') return false;
  v.remove_prefix(1);
  std::uint64_t t = 0;
  if (!v.empty() && v.front() == '*')
    total.reset();
  else if (number(t))
    total = t;
  else
    return false;
  return end >= start;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
struct CurlCleanup {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

// State shared with libcurl's callbacks during one attempt.
struct Transfer {
  CURL* curl = nullptr;
  std::FILE* file = nullptr;
  std::uint64_t offset = 0;  // bytes in the .part file when the attempt started (the Range asked for)
  std::uint64_t base = 0;    // where this response's body starts in the file (offset, or 0 on a 200)
  bool decided = false;      // the first body byte has been seen and the response accepted
  std::optional<std::uint64_t> range_start, range_total;
  std::uint64_t received = 0;  // body bytes written in this attempt
  std::string refusal;         // why the body was refused (then the write callback stops the transfer)
  // progress
  bool show = false;
  std::string name;
  std::chrono::steady_clock::time_point started, last_draw;
  std::uint64_t received_before = 0;  // body bytes of earlier attempts, for the rate

  void draw(std::uint64_t done, std::uint64_t total, bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_draw < std::chrono::milliseconds(100)) return;
    last_draw = now;
    const double secs = std::chrono::duration<double>(now - started).count();
    const double rate = secs > 0 ? static_cast<double>(received_before + received) / secs : 0.0;
    std::fprintf(stderr, "\r%s\x1b[K", progress_line(name, done, total, rate).c_str());
    std::fflush(stderr);
  }
};

inline std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::string_view line(data, size * n);
  if (starts_with_nocase(line, "http/")) {  // a new response (after a redirect): forget the last one's headers
    t.range_start.reset();
    t.range_total.reset();
  } else if (starts_with_nocase(line, "content-range:")) {
    std::uint64_t start = 0;
    std::optional<std::uint64_t> total;
    if (parse_content_range(line.substr(14), start, total)) {
      t.range_start = start;
      t.range_total = total;
    }
  }
  return size * n;
}

inline std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  if (!t.decided) {
    long code = 0;
    curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &code);
    if (code == 206) {
      if (!t.range_start || *t.range_start != t.offset) {
        t.refusal = msg("the server sent a range starting at byte ",
                        t.range_start ? std::to_string(*t.range_start) : std::string("(none)"), " but byte ", t.offset,
                        " was asked for");
        return 0;
      }
      t.base = t.offset;
    } else if (code == 200) {
      if (t.offset > 0) {  // the server ignored Range: start the file over
        std::fflush(t.file);
        if (ftruncate(fileno(t.file), 0) != 0) {
          t.refusal = "cannot truncate the partial file to start over";
          return 0;
        }
      }
      t.base = 0;
    } else {
      t.refusal = msg("HTTP status ", code);
      return 0;
    }
    t.decided = true;
  }
  const std::size_t bytes = size * n;
  if (std::fwrite(data, 1, bytes, t.file) != bytes) {
    t.refusal = "cannot write the partial file (disk full?)";
    return 0;
  }
  t.received += bytes;
  return bytes;
}

inline int on_progress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto& t = *static_cast<Transfer*>(user);
  if (t.show && t.decided)
    t.draw(t.base + static_cast<std::uint64_t>(dlnow), dltotal > 0 ? t.base + static_cast<std::uint64_t>(dltotal) : 0,
           false);
  return 0;
}

inline bool should_show_progress(Progress p) {
  return p == Progress::always || (p == Progress::automatic && isatty(STDERR_FILENO));
}

}  // namespace detail

// Downloads `url` to `dest`: into `dest`.part (resumed if it exists), verified against `check`, then renamed.
// When a resumed file fails the check, it is downloaded once more from the start (the .part may have been
// from an older version of the file). Throws DownloadError, or FormatError when the check fails.
inline void download_url(std::string_view url, const std::filesystem::path& dest, const FileCheck& expected = {},
                         const DownloadOptions& opts = {}) {
  namespace fs = std::filesystem;
  const std::string u(url);
  check<ValueError>(detail::is_http_url(u), "download_url: only http:// and https:// URLs are supported, got '", u,
                    "'");
  detail::curl_global_init_once();
  const fs::path part = dest.string() + ".part";
  if (!dest.parent_path().empty()) fs::create_directories(dest.parent_path());

  detail::Transfer t;
  t.show = detail::should_show_progress(opts.progress);
  t.name = dest.filename().string();
  t.started = std::chrono::steady_clock::now();
  bool fresh_start_done = false;
  for (;;) {
    const bool resumed_from_old_part = fs::exists(part) && fs::file_size(part) > 0;
    int failures = 0;
    double delay = opts.retry_delay_s;
    std::uint64_t longest = fs::exists(part) ? fs::file_size(part) : 0;
    for (;;) {  // attempts, each resuming where the last one stopped
      t.offset = fs::exists(part) ? fs::file_size(part) : 0;
      t.base = t.offset;
      t.decided = false;
      t.received_before += t.received;
      t.received = 0;
      t.refusal.clear();
      t.range_start.reset();
      t.range_total.reset();
      std::unique_ptr<std::FILE, detail::FileCloser> file(std::fopen(part.c_str(), "ab"));
      if (!file) throw IoError(part.string(), "cannot open the partial download for writing");
      std::unique_ptr<CURL, detail::CurlCleanup> curl(curl_easy_init());
      if (!curl) throw Error("libcurl could not create a transfer");
      t.curl = curl.get();
      t.file = file.get();
      char errbuf[CURL_ERROR_SIZE] = {0};
      const std::string range = std::to_string(t.offset) + "-";
      CURL* c = curl.get();
      curl_easy_setopt(c, CURLOPT_URL, u.c_str());
      curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
      curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
      curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
      curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
      curl_easy_setopt(c, CURLOPT_USERAGENT, "fastpp-untar_data/0.1");
      curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, opts.connect_timeout_s);
      curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, opts.stall_timeout_s);
      if (t.offset > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
      curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &detail::on_header);
      curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &detail::on_body);
      curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
      curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &detail::on_progress);
      curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
      curl_easy_setopt(c, CURLOPT_NOPROGRESS, t.show ? 0L : 1L);

      const CURLcode rc = curl_easy_perform(c);
      long code = 0;
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
      curl_off_t length = -1;
      curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
      if (std::fclose(file.release()) != 0) throw IoError(part.string(), "cannot write the partial download");
      const std::string curl_says = errbuf[0] ? errbuf : curl_easy_strerror(rc);

      if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_COULDNT_CONNECT) {
        if (t.show) std::fputc('\n', stderr);
        throw DownloadError(part.string(), "cannot reach " + u + ": " + curl_says, u, true);
      }
      if (code == 416 && t.offset > 0) {  // the .part is not a prefix of this file: start over
        fs::remove(part);
        continue;
      }
      const bool retryable_status = code == 408 || code == 429 || code >= 500;
      std::string problem;
      bool retry = false;
      if (rc == CURLE_OK && t.refusal.empty() && (code == 200 || code == 206)) {
        const std::uint64_t have = fs::file_size(part);
        std::optional<std::uint64_t> want = t.range_total;
        if (!want && length >= 0) want = t.base + static_cast<std::uint64_t>(length);
        if (!want || have == *want) {
          if (t.show) {
            t.draw(have, have, true);
            std::fputc('\n', stderr);
          }
          break;  // complete
        }
        problem = detail::msg("the connection ended after ", have, " of ", *want, " bytes");
        retry = true;
      } else if (!t.refusal.empty() && !retryable_status) {
        if (t.show) std::fputc('\n', stderr);
        throw DownloadError(part.string(), "download of " + u + " failed: " + t.refusal, u, false);
      } else if (rc == CURLE_OK && !retryable_status) {
        if (t.show) std::fputc('\n', stderr);
        throw DownloadError(part.string(), detail::msg("download of ", u, " failed: HTTP status ", code), u, false);
      } else {
        problem = retryable_status ? detail::msg("HTTP status ", code) : curl_says;
        retry = retryable_status || rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
                rc == CURLE_GOT_NOTHING || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_HTTP2 ||
                rc == CURLE_HTTP2_STREAM || rc == CURLE_SSL_CONNECT_ERROR;
      }
      if (!retry) {
        if (t.show) std::fputc('\n', stderr);
        throw DownloadError(part.string(), "download of " + u + " failed: " + problem, u, false);
      }
      // Progress means the file grew past its longest so far: a server that drops every connection and
      // ignores Range would otherwise restart forever.
      const std::uint64_t now_size = fs::exists(part) ? fs::file_size(part) : 0;
      const bool progressed = now_size > longest;
      longest = std::max(longest, now_size);
      failures = progressed ? 0 : failures + 1;
      if (progressed) delay = opts.retry_delay_s;
      if (failures > opts.retries) {
        if (t.show) std::fputc('\n', stderr);
        throw DownloadError(
            part.string(),
            detail::msg("download of ", u, " failed ", failures, " times in a row without progress (last: ", problem,
                        "); the bytes received so far are kept and the next call resumes from them"),
            u, false);
      }
      if (failures > 0 && delay > 0) {
        std::this_thread::sleep_for(std::chrono::duration<double>(delay));
        delay = std::min(delay * 2, 30.0);
      }
    }

    const std::string why = check_failure(part, expected);
    if (why.empty()) break;
    fs::remove(part);
    if (resumed_from_old_part && !fresh_start_done) {  // maybe the old .part was another version: once more
      fresh_start_done = true;
      continue;
    }
    throw FormatError(dest.string(),
                      "downloaded file is corrupt or not the latest version (" + why + "); it came from " + u);
  }
  fs::rename(part, dest);
}

}  // namespace fastpp
