#pragma once
// The download progress line: name, bar, percent, size and rate, redrawn in place on a terminal.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace fastpp {

// Whether untar_data draws a progress bar: only when stderr is a terminal (the default), always, or never.
enum class Progress { automatic, always, never };

namespace detail {

// "812.5 MiB": binary units, one decimal from KiB up.
inline std::string human_bytes(double bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) {
    bytes /= 1024.0;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%.0f %s", bytes, units[u]);
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", bytes, units[u]);
  return buf;
}

// One progress line; `total` 0 means the server did not say how large the file is.
inline std::string progress_line(std::string_view name, std::uint64_t done, std::uint64_t total,
                                 double bytes_per_second, int bar_width = 30) {
  std::string line(name);
  if (total > 0) {
    const double frac = done >= total ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
    const int filled = static_cast<int>(frac * bar_width);
    line += " [" + std::string(static_cast<std::size_t>(filled), '#') +
            std::string(static_cast<std::size_t>(bar_width - filled), '.') + "] ";
    char pct[8];
    std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(frac * 100.0));
    line += pct;
    line += "  " + human_bytes(static_cast<double>(done)) + " / " + human_bytes(static_cast<double>(total));
  } else {
    line += "  " + human_bytes(static_cast<double>(done));
  }
  line += "  " + human_bytes(bytes_per_second < 0 ? 0.0 : bytes_per_second) + "/s";
  return line;
}

}  // namespace detail
}  // namespace fastpp
