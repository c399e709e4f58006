#pragma once
// data/ may include vision/, but not vision/s internals.
#include "../vision/detail/impl.hpp"
