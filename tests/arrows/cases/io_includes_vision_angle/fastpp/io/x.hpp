#pragma once
// io/ may include core/ only, whichever include form it uses.
#include <fastpp/core/tensor.hpp>
#include <fastpp/vision/image.hpp>
