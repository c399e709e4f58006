#pragma once
#include "a.hpp"
