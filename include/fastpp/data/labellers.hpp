#pragma once
// Labelling items: RegexLabeller, using_attr with the path attributes file_name / parent_name / file_stem,
// and parent_label. Any callable item -> std::string works as a DataBlock's get_y as well; these are
// function objects with a name() so summary() can say which step ran.
#include <filesystem>
#include <regex>
#include <string>
#include <type_traits>
#include <utility>

#include "../core/error.hpp"

namespace fastpp {

// The name summary() shows for a getter: its name() when it has one, otherwise `fallback`.
template <class F>
std::string step_name(const F& f, const std::string& fallback) {
  if constexpr (requires { { f.name() } -> std::convertible_to<std::string>; })
    return f.name();
  else
    return fallback;
}

// Path attributes, as fastai's using_attr reads them with getattr (Path.name, Path.parent.name, Path.stem; file_stem, not stem, leaves that name to others).
struct FileName {
  std::string operator()(const std::filesystem::path& p) const { return p.filename().string(); }
  std::string name() const { return "file_name"; }
};
struct ParentName {
  std::string operator()(const std::filesystem::path& p) const { return p.parent_path().filename().string(); }
  std::string name() const { return "parent_name"; }
};
struct FileStem {
  std::string operator()(const std::filesystem::path& p) const { return p.stem().string(); }
  std::string name() const { return "file_stem"; }
};
inline constexpr FileName file_name{};
inline constexpr ParentName parent_name{};
inline constexpr FileStem file_stem{};

// The name of the folder holding the item (fastai's parent_label).
struct ParentLabel {
  std::string operator()(const std::filesystem::path& p) const { return p.parent_path().filename().string(); }
  std::string name() const { return "parent_label"; }
};
inline constexpr ParentLabel parent_label{};

// Capture group 1 of `pattern` searched in the item's path (or matched against the whole of it with
// match = true). The pattern is ECMAScript (std::regex). Path separators are turned into '/' first, so
// one pattern works everywhere. A string the pattern does not fit throws ValueError with fastai's
// message: Failed to find "<pattern>" in "<string>".
class RegexLabeller {
 public:
  explicit RegexLabeller(std::string pattern, bool match = false)
      : pattern_(std::move(pattern)), match_(match), re_(compile(pattern_)) {}

  std::string operator()(const std::filesystem::path& p) const { return (*this)(p.generic_string()); }
  std::string operator()(const std::string& s) const {
    std::smatch m;
    const bool ok = match_ ? std::regex_match(s, m, re_) : std::regex_search(s, m, re_);
    check(ok && m.size() >= 2, "Failed to find \"", pattern_, "\" in \"", s, "\"",
          ok ? " (the pattern has no capture group: put the label in parentheses)" : "");
    return m[1].str();
  }
  const std::string& pattern() const noexcept { return pattern_; }
  std::string name() const { return "RegexLabeller -- {'pat': '" + pattern_ + "', 'match': " + (match_ ? "True" : "False") + "}"; }

 private:
  static std::regex compile(const std::string& pattern) {
    try {
      return std::regex(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw ValueError("RegexLabeller: \"" + pattern + "\" is not a valid ECMAScript regular expression: " + e.what());
    }
  }
  std::string pattern_;
  bool match_;
  std::regex re_;
};

// using_attr(f, attr): x -> f(attr(x)), e.g. using_attr(RegexLabeller{R"((.+)_\d+.jpg$)"}, file_name)
// applies the regex to the file name only.
template <class F, class Attr>
struct UsingAttr {
  F f;
  Attr attr;
  template <class X>
  auto operator()(const X& x) const -> decltype(f(attr(x))) {
    return f(attr(x));
  }
  std::string name() const {
    return detail::msg("using_attr(", step_name(f, "f"), ", ", step_name(attr, "attr"), ")");
  }
};
template <class F, class Attr>
UsingAttr<std::decay_t<F>, std::decay_t<Attr>> using_attr(F&& f, Attr&& attr) {
  return {std::forward<F>(f), std::forward<Attr>(attr)};
}

}  // namespace fastpp
