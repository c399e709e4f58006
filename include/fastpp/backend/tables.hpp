#pragma once
// The seam between the device-free code (nn/, loss/, vision/) and the devices. Layers and losses are
// written once over Tensor<T, D>; every loop over data goes through one of these tables, specialised
// per device in include/fastpp/backend/<device>/:
//
//   layer_kernels<D>   convolution, linear, batch norm, pooling, activations (backend/cpu/layer_kernels.hpp)
//   loss_kernels<D>    softmax, log_softmax, NLL, cross-entropy, BCE rows (backend/cpu/loss_kernels.hpp)
//   optim_kernels<D>   optimizer steps (Adam, SGD) and the loss scaler's unscale (backend/cpu/optim_kernels.hpp)
//   cast_kernels<D>    float <-> half and bfloat16 conversions of device arrays (backend/cpu/cast_kernels.hpp)
//
// Layers whose activations are half or bfloat16 call mixed_layer_kernels<D, A> instead of layer_kernels<D>
// (backend/mixed_layer_kernels.hpp): the same entries over A activations and float parameters.
//
// A table is a struct of static functions over raw device pointers and sizes: plain, non-template
// functions behind the templates, so a network of fifty layer types instantiates each kernel once and
// a device's kernels can live in a compiled library (the cuda ones, built by nvcc). A device that lacks
// a table gets the sentence below at compile time, naming the table to write.
#include <type_traits>

#include "../core/device.hpp"

namespace fastpp::backend {

namespace detail {
// The cuda device's tables are in the compiled library fastpp::cuda; a program built without it that asks
// for cuda tensors in a layer, loss or optimizer gets this sentence, not a link error.
template <class D>
inline constexpr bool no_kernels_for = false;
template <class D>
inline constexpr bool cuda_without_library = std::is_same_v<D, fastpp::cuda>;
#define FASTPP_NO_CUDA_KERNELS_MESSAGE                                                                        \
  "the cuda device's kernels are in the library fastpp::cuda: configure fastpp with -DFASTPP_CUDA=ON (needs " \
  "nvcc) and link your program with fastpp::cuda (target_link_libraries(app PRIVATE fastpp::cuda))"
}  // namespace detail

template <class D>
struct layer_kernels {
  static_assert(!detail::cuda_without_library<D>, FASTPP_NO_CUDA_KERNELS_MESSAGE);
  static_assert(detail::cuda_without_library<D> || detail::no_kernels_for<D>,
                "no layer kernels for this device: include its backend (fastpp/backend/cpu/layer_kernels.hpp for "
                "fastpp::cpu) or specialise fastpp::backend::layer_kernels<Device> for a new device");
};

template <class D>
struct loss_kernels {
  static_assert(!detail::cuda_without_library<D>, FASTPP_NO_CUDA_KERNELS_MESSAGE);
  static_assert(detail::cuda_without_library<D> || detail::no_kernels_for<D>,
                "no loss kernels for this device: include its backend (fastpp/backend/cpu/loss_kernels.hpp for "
                "fastpp::cpu) or specialise fastpp::backend::loss_kernels<Device> for a new device");
};

template <class D>
struct optim_kernels {
  static_assert(!detail::cuda_without_library<D>, FASTPP_NO_CUDA_KERNELS_MESSAGE);
  static_assert(detail::cuda_without_library<D> || detail::no_kernels_for<D>,
                "no optimizer kernels for this device: include its backend (fastpp/backend/cpu/optim_kernels.hpp "
                "for fastpp::cpu) or specialise fastpp::backend::optim_kernels<Device> for a new device");
};

template <class D>
struct cast_kernels {
  static_assert(!detail::cuda_without_library<D>, FASTPP_NO_CUDA_KERNELS_MESSAGE);
  static_assert(detail::cuda_without_library<D> || detail::no_kernels_for<D>,
                "no cast kernels for this device: include its backend (fastpp/backend/cpu/cast_kernels.hpp for "
                "fastpp::cpu) or specialise fastpp::backend::cast_kernels<Device> for a new device");
};

// Where a device's work is queued while a Learner (or anyone) runs a batch of work on it: the cpu has
// nothing to set up. The cuda device's context owns a stream (backend/cuda/stream.hpp), made current by a
// scope and waited for when the scope ends, so what runs outside it (a checkpoint's copy, the caller's
// own reads) sees finished results.
template <class D>
struct execution_context {
  struct scope {
    explicit scope(execution_context&) {}
  };
};

}  // namespace fastpp::backend
