#pragma once
// core/ includes only core/.
#include <cstdint>
