#pragma once
// The parts of fastpp/io/download.hpp that call libcurl or libarchive include this first. Those libraries are
// linked only through the CMake target fastpp::download (which defines FASTPP_HAVE_DOWNLOAD), so that users who
// never download link neither.
#if !defined(FASTPP_HAVE_DOWNLOAD)
#error "fastpp/io/download.hpp needs libcurl and libarchive: install Debian's libcurl4-openssl-dev and libarchive-dev, then link the CMake target fastpp::download (target_link_libraries(<your target> PRIVATE fastpp::download))"
#endif
