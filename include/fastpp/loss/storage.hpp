#pragma once
// Storage types and index types the loss functions take beyond what the kernels compute in.
// The kernels compute in float and double; half and bfloat16 logits are widened to float for the
// kernels and results narrowed back (acc_t<T> is float for them, so losses come back in float).
// Class indices may be int64, int32 or uint8 (fastai's labels); the kernels read int64.
#include <type_traits>

#include "checks.hpp"

namespace fastpp::loss_detail {

template <class T, class D>
Tensor<acc_t<T>, D> widened(const Tensor<T, D>& x) {
  if constexpr (std::is_same_v<T, acc_t<T>>) {
    return x;
  } else {
    static_assert(HostDevice<D>, "half and bfloat16 losses are computed in float by widening on the host; on this "
                                 "device, convert the logits to float first (tensor.cast<float>() on the host)");
    return x.template cast<acc_t<T>>();
  }
}

// Runs kernel(inputs' data..., output data) in the kernels' type: 16-bit inputs are widened, and a 16-bit
// output is computed in a float buffer, then narrowed into `out`.
template <class T, class D, class K, class... In>
void run_kernel(K&& kernel, Tensor<T, D>& out, const In&... in) {
  if constexpr (std::is_same_v<T, acc_t<T>>) {
    kernel(in.data()..., out.data());
  } else {
    auto wide = Tensor<acc_t<T>, D>::empty(out.shape());
    kernel(widened(in).data()..., wide.data());
    for (std::int64_t i = 0; i < out.numel(); ++i) out.data()[i] = static_cast<T>(wide.data()[i]);
  }
}

template <class I>
inline constexpr bool is_class_index_v =
    std::is_same_v<I, std::int64_t> || std::is_same_v<I, std::int32_t> || std::is_same_v<I, std::uint8_t>;

// Class indices as int64 for the kernels (a handle when they are int64 already).
template <class I, class D>
Tensor<std::int64_t, D> class_indices(std::string_view op, const Tensor<I, D>& t) {
  static_assert(is_class_index_v<I>, "class-index targets must be a tensor of int64, int32 or uint8");
  if constexpr (std::is_same_v<I, std::int64_t>) {
    return t;
  } else {
    check<ShapeError>(t.defined(), op, ": the targets tensor is undefined");
    auto wide = Tensor<std::int64_t, D>::empty(t.shape());
    backend::loss_kernels<D>::widen_targets(t.data(), t.numel(), wide.data());
    return wide;
  }
}

}  // namespace fastpp::loss_detail
