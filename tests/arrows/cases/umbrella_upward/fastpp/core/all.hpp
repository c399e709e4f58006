#pragma once
// core/ reaching everything through the top umbrella.
#include "../fastpp.hpp"
