#pragma once
// What the chapter's vision recipe needs: images, item and batch transforms, show_batch, and the data
// pipeline that applies them (DataBlock, DataLoaders).
#include "data.hpp"
#include "data/show_batch.hpp"
#include "vision/image.hpp"
#include "vision/show_batch.hpp"
#include "vision/transforms.hpp"
