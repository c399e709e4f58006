#include <catch2/catch.hpp>
#include <fastpp/core/env.hpp>
#include <stdlib.h>

using fastpp::detail::env_switch;

TEST_CASE("environment switches take one spelling of on and off", "[env]") {
  const char* name = "FASTPP_TEST_SWITCH";
  unsetenv(name);
  CHECK(!env_switch(name).has_value());
  setenv(name, "", 1);
  CHECK(!env_switch(name).has_value());  // empty: the caller's default
  for (const char* off : {"0", "false", "no", "off"}) {
    setenv(name, off, 1);
    INFO(off);
    CHECK(env_switch(name) == false);
  }
  for (const char* on : {"1", "yes", "true", "on"}) {
    setenv(name, on, 1);
    INFO(on);
    CHECK(env_switch(name) == true);
  }
  unsetenv(name);
}
