#pragma once
// fastpp's layers as types: Conv2d, BatchNorm1d/2d, ReLU, pools, Flatten, Linear, Dropout, Identity,
// Sequential, residual blocks, parameter groups and state dicts. See docs/nn.md.
#include "nn/activation.hpp"
#include "nn/conv.hpp"
#include "nn/kernels.hpp"
#include "nn/layer.hpp"
#include "nn/linear.hpp"
#include "nn/norm.hpp"
#include "nn/pool.hpp"
#include "nn/residual.hpp"
#include "nn/sequential.hpp"
#include "nn/state_dict.hpp"
