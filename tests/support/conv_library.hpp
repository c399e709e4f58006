#pragma once
// Sets the convolution library (fastpp's kernels or oneDNN's) for a scope and puts the previous one back.
#include <fastpp/backend/cpu/conv_library.hpp>

struct ConvLibraryScope {
  fastpp::ConvLibrary before = fastpp::conv_library();
  explicit ConvLibraryScope(fastpp::ConvLibrary library) { fastpp::set_conv_library(library); }
  ~ConvLibraryScope() { fastpp::set_conv_library(before); }
  ConvLibraryScope(const ConvLibraryScope&) = delete;
  ConvLibraryScope& operator=(const ConvLibraryScope&) = delete;
};
