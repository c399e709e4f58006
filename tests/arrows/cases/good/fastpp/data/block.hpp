#pragma once
// data/ may include vision/, also through an umbrella that holds only vision/ and core/.
#include <fastpp/vision/image.hpp>
#include "../vision.hpp"
