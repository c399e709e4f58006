#pragma once
// The kernels loss/ calls: backend::loss_kernels<D> for the logits' device D (backend/kernels.hpp), and
// the host backend's table, so that tensors on the default device work without another include.
#include "../backend/cpu/loss_kernels.hpp"
#include "../backend/kernels.hpp"
