#pragma once
#include "data/block.hpp"
#include "vision.hpp"
