#pragma once
// The ResNet family (torchvision structure and names), fastai's head and parameter groups, AnyModel, state dicts.
#include "models/any_model.hpp"
#include "models/resnet.hpp"
#include "models/state_dict.hpp"
