#pragma once
// On/off switches read from the environment (FASTPP_OFFLINE, FASTPP_HUGE_PAGES), so that every one of them
// takes the same spellings.
#include <cstdlib>
#include <optional>
#include <string_view>

namespace fastpp::detail {

// The value of the yes/no variable `name`: nullopt when it is unset or empty (the caller's default applies),
// false for "0", "false", "no" or "off", true for anything else.
inline std::optional<bool> env_switch(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  const std::string_view s(v);
  return !(s == "0" || s == "false" || s == "no" || s == "off");
}

}  // namespace fastpp::detail
