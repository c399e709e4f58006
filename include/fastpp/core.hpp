#pragma once
// The core: tensors, devices, dtypes, errors, random numbers, threads.
#include "core/device.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/math.hpp"
#include "core/ops.hpp"
#include "core/print.hpp"
#include "core/rng.hpp"
#include "core/shape.hpp"
#include "core/tensor.hpp"
#include "core/thread_pool.hpp"
