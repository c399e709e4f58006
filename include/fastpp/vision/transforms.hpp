#pragma once
// The vision transforms: item transforms (Resize, RandomResizedCrop), batch augmentation (aug_transforms,
// AffineCoordTfm, LightingTfm), IntToFloat and Normalize. No image decoding here (that is image.hpp, which
// compiles stb_image); show_batch.hpp writes image grids.
#include "augment.hpp"          // IWYU pragma: export
#include "coord_math.hpp"       // IWYU pragma: export
#include "item_transforms.hpp"  // IWYU pragma: export
#include "resample.hpp"         // IWYU pragma: export
#include "types.hpp"            // IWYU pragma: export
