#pragma once
// cast_on_device<To>(t): a tensor's values converted to another dtype on its own device, through the
// device's cast_kernels (float <-> half and bfloat16; the same dtype gives the tensor itself, not a copy).
#include <type_traits>

#include "../core/tensor.hpp"
#include "tables.hpp"

namespace fastpp::backend {

template <class To, class From, class D>
Tensor<To, D> cast_on_device(const Tensor<From, D>& t) {
  if constexpr (std::is_same_v<To, From>) {
    return t;
  } else {
    static_assert(std::is_same_v<To, float> || std::is_same_v<From, float>,
                  "cast_on_device converts to or from float (half <-> bfloat16 goes through float)");
    if (!t.defined()) return {};
    auto out = Tensor<To, D>::empty(t.shape());
    if constexpr (std::is_same_v<To, float>) cast_kernels<D>::to_float(t.data(), t.numel(), out.data());
    else cast_kernels<D>::from_float(t.data(), t.numel(), out.data());
    return out;
  }
}

}  // namespace fastpp::backend
