#pragma once
// A transform written as one line of text, so that a pipeline can be stored in a file and rebuilt from it
// (learner/export.hpp: an exported learner keeps its validation transforms this way):
//
//   "Resize size=224,224 method=crop pad_mode=reflection"
//   "Normalize mean=0.485,0.456,0.406 std=0.229,0.224,0.225"
//
// The first word is the transform's type, then key=value pairs (values hold no spaces). Numbers are written
// in the shortest form that reads back to the same float or double (std::to_chars), so a rebuilt transform
// computes bit for bit what the original did. A transform that can be exported has `std::string spec()
// const` (the pipeline copies it into its PipelineStep) and `static T from_spec(const TransformSpec&)`,
// which refuses, with a ValueError quoting the spec, a missing, unknown or malformed entry.
#include <array>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "types.hpp"

namespace fastpp {

struct TransformSpec {
  std::string type;
  std::vector<std::pair<std::string, std::string>> args;

  TransformSpec() = default;
  explicit TransformSpec(std::string transform_type) : type(std::move(transform_type)) {}

  TransformSpec& set(std::string key, std::string value) {
    args.emplace_back(std::move(key), std::move(value));
    return *this;
  }

  std::string str() const {
    std::string s = type;
    for (const auto& [k, v] : args) s.append(" ").append(k).append("=").append(v);
    return s;
  }

  static TransformSpec parse(std::string_view text) {
    TransformSpec s;
    std::size_t at = 0;
    auto next_word = [&]() -> std::string_view {
      while (at < text.size() && text[at] == ' ') ++at;
      const std::size_t start = at;
      while (at < text.size() && text[at] != ' ') ++at;
      return text.substr(start, at - start);
    };
    s.type = std::string(next_word());
    check(!s.type.empty() && s.type.find('=') == std::string::npos, "transform spec \"", text,
          "\": it does not start with the transform's name");
    for (std::string_view w = next_word(); !w.empty(); w = next_word()) {
      const auto eq = w.find('=');
      check(eq != std::string_view::npos && eq > 0, "transform spec \"", text, "\": \"", w, "\" is not key=value");
      const std::string key(w.substr(0, eq));
      for (const auto& [k, v] : s.args) check(k != key, "transform spec \"", text, "\": key \"", key, "\" given twice");
      s.set(key, std::string(w.substr(eq + 1)));
    }
    return s;
  }

  // Refuses keys this build does not know (a spec from a newer writer would be silently misread).
  const TransformSpec& only(std::initializer_list<std::string_view> known) const {
    for (const auto& [k, v] : args) {
      bool ok = false;
      for (auto kn : known) ok = ok || k == kn;
      check(ok, "transform spec \"", str(), "\": unknown key \"", k, "\" for ", type);
    }
    return *this;
  }

  const std::string& at(std::string_view key) const {
    for (const auto& [k, v] : args)
      if (k == key) return v;
    throw ValueError(detail::msg("transform spec \"", str(), "\": ", type, " needs \"", key, "\""));
  }

  // A float or double, read back exactly as spec_number wrote it.
  template <class F>
  F number(std::string_view key) const {
    return parse_number<F>(at(key), key);
  }
  // n comma-separated numbers.
  template <class F, std::size_t N>
  std::array<F, N> numbers(std::string_view key) const {
    const std::string& v = at(key);
    std::array<F, N> out{};
    std::size_t start = 0;
    for (std::size_t i = 0; i < N; ++i) {
      const std::size_t end = i + 1 < N ? v.find(',', start) : v.size();
      check(end != std::string::npos, "transform spec \"", str(), "\": \"", key, "\" needs ", N, " numbers, got \"", v, "\"");
      out[i] = parse_number<F>(std::string_view(v).substr(start, end - start), key);
      start = end + 1;
    }
    return out;
  }
  // "h,w", or "input" for an empty size (keep the input's).
  SizeHW size(std::string_view key) const {
    if (at(key) == "input") return SizeHW{};
    const auto hw = numbers<double, 2>(key);
    const auto h = static_cast<std::int64_t>(hw[0]), w = static_cast<std::int64_t>(hw[1]);
    check(static_cast<double>(h) == hw[0] && static_cast<double>(w) == hw[1] && h > 0 && w > 0, "transform spec \"",
          str(), "\": \"", key, "\" must be two positive integers h,w, got \"", at(key), "\"");
    return SizeHW{h, w};
  }
  // One of the values of an enum, by its to_string name.
  template <class E>
  E choice(std::string_view key, std::initializer_list<E> values) const {
    const std::string& v = at(key);
    std::string names;
    for (E e : values) {
      if (v == to_string(e)) return e;
      names.append(names.empty() ? "" : ", ").append(to_string(e));
    }
    throw ValueError(detail::msg("transform spec \"", str(), "\": \"", key, "\" is \"", v, "\", expected one of: ", names));
  }

 private:
  template <class F>
  F parse_number(std::string_view text, std::string_view key) const {
    F v{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    check(ec == std::errc{} && end == text.data() + text.size(), "transform spec \"", str(), "\": \"", key,
          "\" holds \"", text, "\", not a number");
    return v;
  }
};

// The shortest text that reads back to exactly v.
template <class F>
std::string spec_number(F v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}
template <class F, std::size_t N>
std::string spec_numbers(const std::array<F, N>& v) {
  std::string s;
  for (std::size_t i = 0; i < N; ++i) s.append(i ? "," : "").append(spec_number(v[i]));
  return s;
}
inline std::string spec_size(SizeHW s) {
  return s.empty() ? std::string("input") : std::to_string(s.h) + "," + std::to_string(s.w);
}

}  // namespace fastpp
