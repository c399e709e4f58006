# Optional libjpeg-turbo for JPEG decoding (Debian's libturbojpeg0-dev): defines the target fastpp::turbojpeg,
# which carries fastpp::fastpp, links libturbojpeg and defines FASTPP_HAVE_TURBOJPEG=1, so that
# fastpp/vision/image.hpp decodes JPEGs with TurboJPEG (falling back to stb_image). A program that does not
# link fastpp::turbojpeg decodes JPEGs with stb_image and needs no extra library.
#   FASTPP_TURBOJPEG = AUTO (default: use it if found) | ON (required) | OFF
include_guard(GLOBAL)
if(NOT DEFINED FASTPP_TURBOJPEG)
  set(FASTPP_TURBOJPEG AUTO CACHE STRING "Decode JPEG with libjpeg-turbo (fastpp::turbojpeg): ON, OFF or AUTO")
  set_property(CACHE FASTPP_TURBOJPEG PROPERTY STRINGS ON OFF AUTO)
endif()
if(NOT FASTPP_TURBOJPEG STREQUAL "OFF" AND NOT TARGET fastpp::turbojpeg)
  find_path(FASTPP_TURBOJPEG_INCLUDE_DIR turbojpeg.h)
  find_library(FASTPP_TURBOJPEG_LIBRARY NAMES turbojpeg)
  if(FASTPP_TURBOJPEG_INCLUDE_DIR AND FASTPP_TURBOJPEG_LIBRARY)
    add_library(fastpp_turbojpeg INTERFACE)
    add_library(fastpp::turbojpeg ALIAS fastpp_turbojpeg)
    target_link_libraries(fastpp_turbojpeg INTERFACE fastpp::fastpp ${FASTPP_TURBOJPEG_LIBRARY})
    target_include_directories(fastpp_turbojpeg SYSTEM INTERFACE ${FASTPP_TURBOJPEG_INCLUDE_DIR})
    target_compile_definitions(fastpp_turbojpeg INTERFACE FASTPP_HAVE_TURBOJPEG=1)
    message(STATUS "fastpp: JPEG decoding with libjpeg-turbo (${FASTPP_TURBOJPEG_LIBRARY}) via fastpp::turbojpeg")
  elseif(FASTPP_TURBOJPEG STREQUAL "ON")
    message(FATAL_ERROR "FASTPP_TURBOJPEG=ON but libjpeg-turbo was not found: install Debian's libturbojpeg0-dev")
  else()
    message(STATUS "fastpp: libjpeg-turbo not found; JPEG decoding uses stb_image")
  endif()
endif()
