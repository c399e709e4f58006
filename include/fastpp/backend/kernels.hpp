#pragma once
// The seam between the device-free code (nn/, loss/, vision/) and the devices. Layers and losses are
// written once over Tensor<T, D>; every loop over data goes through one of these tables, specialised
// per device in include/fastpp/backend/<device>/:
//
//   layer_kernels<D>   convolution, linear, batch norm, pooling, activations (backend/cpu/layer_kernels.hpp)
//   loss_kernels<D>    softmax, log_softmax, NLL, cross-entropy, BCE rows (backend/cpu/loss_kernels.hpp)
//   optim_kernels<D>   optimizer steps (Adam, SGD) and the loss scaler's unscale (backend/cpu/optim_kernels.hpp)
//
// A table is a struct of static functions over raw device pointers and sizes: plain, non-template
// functions behind the templates, so a network of fifty layer types instantiates each kernel once and
// a device's kernels can live in a compiled library (the cuda ones, built by nvcc). A device that lacks
// a table gets the sentence below at compile time, naming the table to write.
#include "../core/device.hpp"

namespace fastpp::backend {

namespace detail {
template <class D>
inline constexpr bool no_kernels_for = false;
}

template <class D>
struct layer_kernels {
  static_assert(detail::no_kernels_for<D>,
                "no layer kernels for this device: include its backend (fastpp/backend/cpu/layer_kernels.hpp for "
                "fastpp::cpu) or specialise fastpp::backend::layer_kernels<Device> for a new device");
};

template <class D>
struct loss_kernels {
  static_assert(detail::no_kernels_for<D>,
                "no loss kernels for this device: include its backend (fastpp/backend/cpu/loss_kernels.hpp for "
                "fastpp::cpu) or specialise fastpp::backend::loss_kernels<Device> for a new device");
};

template <class D>
struct optim_kernels {
  static_assert(detail::no_kernels_for<D>,
                "no optimizer kernels for this device: include its backend (fastpp/backend/cpu/optim_kernels.hpp "
                "for fastpp::cpu) or specialise fastpp::backend::optim_kernels<Device> for a new device");
};

}  // namespace fastpp::backend
