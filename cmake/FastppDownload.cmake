# fastpp::download: untar_data and friends (include/fastpp/io/download.hpp), header-only like the rest but
# linking libcurl and libarchive, so that only users who download link them. Defined only when both are found;
# without them, including the header fails with a message naming the Debian packages.
# This file is also installed and included by the installed fastppConfig.cmake, so that a consumer's
# find_package(fastpp) finds CURL and LibArchive again before the exported fastpp::download refers to them.
include_guard(GLOBAL)

if(NOT TARGET fastpp OR NOT PROJECT_NAME STREQUAL "fastpp")  # installed: fastppTargets.cmake comes next
  set(_fastpp_download_installed ON)
endif()

find_package(CURL QUIET)
find_package(LibArchive QUIET)
if(NOT CURL_FOUND OR NOT LibArchive_FOUND)
  set(FASTPP_HAVE_DOWNLOAD OFF)
  set(_missing "")
  if(NOT CURL_FOUND)
    list(APPEND _missing "libcurl (Debian: libcurl4-openssl-dev)")
  endif()
  if(NOT LibArchive_FOUND)
    list(APPEND _missing "libarchive (Debian: libarchive-dev)")
  endif()
  string(REPLACE ";" " and " _missing "${_missing}")
  message(STATUS "fastpp: ${_missing} not found, fastpp::download (untar_data) is not built")
  return()
endif()
set(FASTPP_HAVE_DOWNLOAD ON)

if(_fastpp_download_installed)
  return()  # the exported targets file defines fastpp::download itself
endif()

add_library(fastpp_download INTERFACE)
add_library(fastpp::download ALIAS fastpp_download)
set_target_properties(fastpp_download PROPERTIES EXPORT_NAME download)
target_link_libraries(fastpp_download INTERFACE fastpp CURL::libcurl LibArchive::LibArchive)
target_compile_definitions(fastpp_download INTERFACE FASTPP_HAVE_DOWNLOAD=1)
message(STATUS "fastpp: download support enabled (libcurl ${CURL_VERSION_STRING}, libarchive ${LibArchive_VERSION})")

install(TARGETS fastpp_download EXPORT fastppTargets)
install(FILES "${CMAKE_CURRENT_LIST_FILE}" DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/fastpp")
