#pragma once
// fastpp's layers as types: Conv2d, BatchNorm1d/2d, ReLU, pools, Flatten, Linear, Dropout, Identity,
// Sequential, residual blocks and parameter groups, on any device. See docs/nn.md.
#include "nn/activation.hpp"
#include "nn/conv.hpp"
#include "nn/layer.hpp"
#include "nn/linear.hpp"
#include "nn/param.hpp"
#include "nn/norm.hpp"
#include "nn/pool.hpp"
#include "nn/residual.hpp"
#include "nn/sequential.hpp"
