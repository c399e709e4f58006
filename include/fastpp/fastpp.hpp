#pragma once
// Everything in fastpp. Include narrower headers (fastpp/core.hpp, fastpp/vision.hpp, ...) to compile faster.
#include "core.hpp"
