#pragma once
// Element-wise math and simple reductions on cpu tensors of a floating-point dtype. Integer tensors
// are refused at compile time: exp of a label or a pixel is almost always a missing conversion.
#include <cmath>
#include <type_traits>

#include "tensor.hpp"

namespace fastpp {

namespace detail {
template <class T>
constexpr void require_float_dtype() {
  static_assert(FloatDType<T>,
                "this operation needs a floating-point tensor (float, double, half or bfloat16): cast the "
                "tensor to float first, e.g. t.cast<float>()");
}
template <class T, class F>
Tensor<T, cpu> map_float(const Tensor<T, cpu>& x, F f) {
  require_float_dtype<T>();
  auto out = Tensor<T, cpu>::empty(x.shape());
  const std::int64_t n = x.numel();
  for (std::int64_t i = 0; i < n; ++i) out.data()[i] = static_cast<T>(f(static_cast<acc_t<T>>(x.data()[i])));
  return out;
}
}  // namespace detail

template <class T>
Tensor<T, cpu> exp(const Tensor<T, cpu>& x) {
  return detail::map_float(x, [](auto v) { return std::exp(v); });
}
template <class T>
Tensor<T, cpu> log(const Tensor<T, cpu>& x) {
  return detail::map_float(x, [](auto v) { return std::log(v); });
}
template <class T>
Tensor<T, cpu> sqrt(const Tensor<T, cpu>& x) {
  return detail::map_float(x, [](auto v) { return std::sqrt(v); });
}

// Sum of all elements, accumulated in double.
template <class T>
double sum(const Tensor<T, cpu>& x) {
  double s = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) s += static_cast<double>(static_cast<acc_t<T>>(x.data()[i]));
  return s;
}
template <class T>
double mean(const Tensor<T, cpu>& x) {
  check<ShapeError>(x.numel() > 0, "mean of an empty tensor");
  return sum(x) / static_cast<double>(x.numel());
}

}  // namespace fastpp
