#pragma once
// A transform header that reaches up into the pipeline: the arrow this check exists for.
#include "../data/block.hpp"
