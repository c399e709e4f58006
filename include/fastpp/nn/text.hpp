#pragma once
// A short compile-time string, usable as a template argument: layer names in error messages
// ("BatchNorm2d<32>") and child names in models (Named<"conv1", ...>).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fastpp::nn {

struct text {
  static constexpr int capacity = 120;
  char s[capacity]{};
  int n = 0;

  constexpr text() = default;
  template <std::size_t N>
  constexpr text(const char (&a)[N]) {  // NOLINT: implicit from a literal, so Named<"conv1", L> reads well
    for (std::size_t i = 0; i + 1 < N && n < capacity; ++i) s[n++] = a[i];
  }
  constexpr text operator+(const text& o) const {
    text r = *this;
    for (int i = 0; i < o.n && r.n < capacity; ++i) r.s[r.n++] = o.s[i];
    return r;
  }
  constexpr std::string_view view() const { return {s, static_cast<std::size_t>(n)}; }
  std::string str() const { return std::string(view()); }
};

// The decimal digits of v, at compile time ("-1" for dyn is spelled by the caller).
constexpr text to_text(std::int64_t v) {
  text r;
  if (v < 0) {
    r.s[r.n++] = '-';
    v = -v;
  }
  char digits[24]{};
  int k = 0;
  do {
    digits[k++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0);
  while (k > 0) r.s[r.n++] = digits[--k];
  return r;
}

}  // namespace fastpp::nn
