#pragma once
// A few element-wise conveniences on host tensors of the same device and dtype, for tests and small
// scripts. Mixing devices is a compile error that names the fix. The math of the layers and losses
// runs through the device kernel tables in include/fastpp/backend/, not through these.
#include <cmath>
#include <type_traits>

#include "tensor.hpp"

namespace fastpp {

namespace detail {
template <class T, class DA, class DB>
constexpr void check_same_device() {
  static_assert(std::is_same_v<DA, DB>,
                "cannot combine a cpu tensor with a cuda tensor: move one of them with .to<fastpp::cpu>() "
                "or .to<fastpp::cuda>() first");
  static_assert(HostDevice<DA>,
                "element-wise operators run on host tensors here: move the tensors with .to<fastpp::cpu>() "
                "first");
}

template <class T, class DA, class DB, class F>
Tensor<T, DA> zip_with(const Tensor<T, DA>& a, const Tensor<T, DB>& b, const char* op, F f) {
  check_same_device<T, DA, DB>();
  check<ShapeError>(a.shape() == b.shape(), "operator", op, ": shapes ", a.shape(), " and ", b.shape(),
                    " differ");
  auto out = Tensor<T, DA>::empty(a.shape());
  const std::int64_t n = a.numel();
  const T* pa = a.data();
  const T* pb = b.data();
  T* po = out.data();
  for (std::int64_t i = 0; i < n; ++i) po[i] = static_cast<T>(f(static_cast<acc_t<T>>(pa[i]), static_cast<acc_t<T>>(pb[i])));
  return out;
}
}  // namespace detail

template <class T, class DA, class DB>
Tensor<T, DA> operator+(const Tensor<T, DA>& a, const Tensor<T, DB>& b) {
  return detail::zip_with(a, b, "+", [](auto x, auto y) { return x + y; });
}
template <class T, class DA, class DB>
Tensor<T, DA> operator-(const Tensor<T, DA>& a, const Tensor<T, DB>& b) {
  return detail::zip_with(a, b, "-", [](auto x, auto y) { return x - y; });
}
template <class T, class DA, class DB>
Tensor<T, DA> operator*(const Tensor<T, DA>& a, const Tensor<T, DB>& b) {
  return detail::zip_with(a, b, "*", [](auto x, auto y) { return x * y; });
}

// Copies src's elements into dst (same shape, same device).
template <class T, class DA, class DB>
void copy_(Tensor<T, DA>& dst, const Tensor<T, DB>& src) {
  static_assert(std::is_same_v<DA, DB>,
                "copy_ copies within one device: use src.to<Device>() to move data between cpu and cuda");
  check<ShapeError>(dst.shape() == src.shape(), "copy_: destination shape ", dst.shape(),
                    " differs from source shape ", src.shape());
  copy_bytes<DA, DB>(dst.data(), src.data(), src.nbytes());
}

// Largest |a - b| over all elements, in double (for tests and checks).
template <class T>
double max_abs_diff(const Tensor<T, cpu>& a, const Tensor<T, cpu>& b) {
  check<ShapeError>(a.shape() == b.shape(), "max_abs_diff: shapes ", a.shape(), " and ", b.shape(), " differ");
  double m = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, std::abs(static_cast<double>(static_cast<acc_t<T>>(a.data()[i])) -
                             static_cast<double>(static_cast<acc_t<T>>(b.data()[i]))));
  return m;
}

// |a - b| <= atol + rtol * |b| element-wise, as torch.allclose.
template <class T>
bool allclose(const Tensor<T, cpu>& a, const Tensor<T, cpu>& b, double rtol = 1e-5, double atol = 1e-8) {
  if (!(a.shape() == b.shape())) return false;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    const double x = static_cast<double>(static_cast<acc_t<T>>(a.data()[i]));
    const double y = static_cast<double>(static_cast<acc_t<T>>(b.data()[i]));
    if (!(std::abs(x - y) <= atol + rtol * std::abs(y))) return false;
  }
  return true;
}

}  // namespace fastpp
