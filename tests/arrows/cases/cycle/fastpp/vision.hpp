#pragma once
// An umbrella may include anything.
#include "vision/image.hpp"
