#pragma once
// Two headers of one folder that need each other.
#include "b.hpp"
