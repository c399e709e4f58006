#pragma once
// Everything in fastpp except the optional components (fastpp/io/download.hpp needs fastpp::download).
// Include the narrower umbrellas (core, loss, nn, models, vision) to compile faster.
#include "core.hpp"
#include "core/list.hpp"
#include "io/safetensors.hpp"
#include "loss.hpp"
#include "models.hpp"
#include "nn.hpp"
#include "vision.hpp"
