#pragma once
// The cuda device's kernel tables, for a program linked with fastpp::cuda (configure fastpp with
// -DFASTPP_CUDA=ON or AUTO on a machine with nvcc, then target_link_libraries(app PRIVATE fastpp::cuda)).
// With it, Tensor<float, cuda> flows through every layer, loss and optimizer of fastpp, and
// vision_learner<Arch, cuda>(dls) trains on the GPU; layers with half or bfloat16 activations run the native
// kernels of cuda/mixed_layer_kernels.hpp (tensor cores for convolutions and linear layers).
#if !defined(FASTPP_WITH_CUDA)
#error "fastpp/backend/cuda.hpp needs fastpp::cuda: configure fastpp with -DFASTPP_CUDA=ON and link fastpp::cuda"
#endif
#include "cuda/cast_kernels.hpp"
#include "cuda/layer_kernels.hpp"
#include "cuda/loss_kernels.hpp"
#include "cuda/mixed_layer_kernels.hpp"
#include "cuda/optim_kernels.hpp"
#include "cuda/stream.hpp"
