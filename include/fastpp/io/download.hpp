#pragma once
// fastpp's dataset download: untar_data(urls::pets) -> the extracted folder, downloaded, verified and extracted
// once into $FASTPP_HOME (default ~/.fastpp). Needs libcurl and libarchive through the CMake target
// fastpp::download; see docs/download.md.
#include <fastpp/io/download/requires.hpp>

#include <fastpp/io/download/archive.hpp>
#include <fastpp/io/download/check.hpp>
#include <fastpp/io/download/http.hpp>
#include <fastpp/io/download/md5.hpp>
#include <fastpp/io/download/progress.hpp>
#include <fastpp/io/download/sha256.hpp>
#include <fastpp/io/download/untar.hpp>
#include <fastpp/io/download/urls.hpp>
