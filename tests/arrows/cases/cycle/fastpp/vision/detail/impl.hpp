#pragma once
// Internal to vision/.
#include "../../core/tensor.hpp"
