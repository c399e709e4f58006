#pragma once
// The kernel tables every device-free header calls (tables.hpp says what they are), with, in a program
// linked with fastpp::cuda, the cuda device's specialisations (backend/cuda/), so nn/, loss/ and the
// Learner find them by including this header alone. The cuda tables include tables.hpp, not this file.
#include "tables.hpp"

#if defined(FASTPP_WITH_CUDA)
// Linked with fastpp::cuda: its tables are the specialisations for fastpp::cuda.
#include "cuda/cast_kernels.hpp"
#include "cuda/layer_kernels.hpp"
#include "cuda/loss_kernels.hpp"
#include "cuda/mixed_layer_kernels.hpp"
#include "cuda/optim_kernels.hpp"
#include "cuda/stream.hpp"
#endif
