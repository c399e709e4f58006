# Optional libjpeg-turbo for JPEG decoding (Debian's libturbojpeg0-dev): defines the target fastpp::turbojpeg,
# which carries fastpp::fastpp, links libturbojpeg and defines FASTPP_HAVE_TURBOJPEG=1, so that
# fastpp/vision/image.hpp decodes JPEGs with TurboJPEG (falling back to stb_image), at 1/2, 1/4 or 1/8 scale
# where the first item transform needs no more (DecodeOptions::min_size). A program that does not link
# fastpp::turbojpeg decodes JPEGs with stb_image, always at full size, and needs no extra library.
# fastpp's own tests, examples and benchmarks link it where it is found.
#   FASTPP_TURBOJPEG = AUTO (default: use it if found) | ON (required) | OFF
# This file is also installed and included by the installed fastppConfig.cmake: there it finds the library
# again on the consumer's machine (the imported target FastppTurboJPEG::turbojpeg, which the exported
# fastpp::turbojpeg links), and the package offers fastpp::turbojpeg only where it is found.
include_guard(GLOBAL)
if(NOT TARGET fastpp OR NOT PROJECT_NAME STREQUAL "fastpp")  # installed: fastppTurbojpegTargets.cmake comes next
  set(_fastpp_turbojpeg_installed ON)
endif()
if(NOT DEFINED FASTPP_TURBOJPEG)
  set(FASTPP_TURBOJPEG AUTO CACHE STRING "Decode JPEG with libjpeg-turbo (fastpp::turbojpeg): ON, OFF or AUTO")
  set_property(CACHE FASTPP_TURBOJPEG PROPERTY STRINGS ON OFF AUTO)
endif()
set(FASTPP_HAVE_TURBOJPEG OFF)
if(FASTPP_TURBOJPEG STREQUAL "OFF" AND NOT _fastpp_turbojpeg_installed)
  return()
endif()
find_path(FASTPP_TURBOJPEG_INCLUDE_DIR turbojpeg.h)
find_library(FASTPP_TURBOJPEG_LIBRARY NAMES turbojpeg)
if(NOT FASTPP_TURBOJPEG_INCLUDE_DIR OR NOT FASTPP_TURBOJPEG_LIBRARY)
  if(FASTPP_TURBOJPEG STREQUAL "ON" AND NOT _fastpp_turbojpeg_installed)
    message(FATAL_ERROR "FASTPP_TURBOJPEG=ON but libjpeg-turbo was not found: install Debian's libturbojpeg0-dev")
  endif()
  message(STATUS "fastpp: libjpeg-turbo not found (Debian: libturbojpeg0-dev); JPEG decoding uses stb_image")
  return()
endif()
if(NOT TARGET FastppTurboJPEG::turbojpeg)
  add_library(FastppTurboJPEG::turbojpeg UNKNOWN IMPORTED)
  set_target_properties(FastppTurboJPEG::turbojpeg PROPERTIES IMPORTED_LOCATION "${FASTPP_TURBOJPEG_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${FASTPP_TURBOJPEG_INCLUDE_DIR}")
endif()
set(FASTPP_HAVE_TURBOJPEG ON)
if(_fastpp_turbojpeg_installed)
  return()  # the exported targets file defines fastpp::turbojpeg itself
endif()

add_library(fastpp_turbojpeg INTERFACE)
add_library(fastpp::turbojpeg ALIAS fastpp_turbojpeg)
set_target_properties(fastpp_turbojpeg PROPERTIES EXPORT_NAME turbojpeg)
target_link_libraries(fastpp_turbojpeg INTERFACE fastpp FastppTurboJPEG::turbojpeg)
target_compile_definitions(fastpp_turbojpeg INTERFACE FASTPP_HAVE_TURBOJPEG=1)
message(STATUS "fastpp: JPEG decoding with libjpeg-turbo (${FASTPP_TURBOJPEG_LIBRARY}) via fastpp::turbojpeg")
