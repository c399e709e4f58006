#pragma once
// vision/ may include core/ and its own detail/.
#include "../core/tensor.hpp"
#include "detail/impl.hpp"
