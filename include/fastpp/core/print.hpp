#pragma once
// Printing a tensor the way PyTorch prints one: nested brackets, columns aligned, long dimensions
// summarised with "..." past 1000 elements, then the dtype (and the device when it is not the cpu).
#include <algorithm>
#include <cstdio>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "device.hpp"
#include "dtype.hpp"
#include "shape.hpp"

// tensor.hpp includes this header at its end, so printing comes wherever Tensor is visible. This header
// does not include tensor.hpp back (an include cycle): the printer is a template, so a declaration of
// Tensor is all it needs until it is used, and by then Tensor is complete.
namespace fastpp {

template <class T, class D>
class Tensor;

namespace detail {

template <class T>
std::string format_element(T v, int decimals) {
  char buf[64];
  if constexpr (FloatDType<T>) {
    std::snprintf(buf, sizeof buf, "%.*f", decimals, static_cast<double>(static_cast<float>(v)));
  } else {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  }
  return buf;
}

template <class T>
void print_rec(std::ostream& os, const T* data, const Shape& shape, int dim, std::int64_t offset, bool summarise,
               std::size_t width, int decimals, int indent) {
  const std::int64_t n = shape[dim];
  std::int64_t stride = 1;
  for (int d = dim + 1; d < shape.rank(); ++d) stride *= shape[d];
  constexpr std::int64_t edge = 3;
  os << '[';
  for (std::int64_t i = 0; i < n; ++i) {
    if (summarise && n > 2 * edge && i == edge) {
      os << (dim + 1 == shape.rank() ? "..., " : "...,\n" + std::string(static_cast<std::size_t>(indent + 1), ' '));
      i = n - edge;
    }
    if (dim + 1 == shape.rank()) {
      std::string s = format_element(data[offset + i], decimals);
      os << std::string(width > s.size() ? width - s.size() : 0, ' ') << s;
      if (i + 1 < n) os << ", ";
    } else {
      print_rec(os, data, shape, dim + 1, offset + i * stride, summarise, width, decimals, indent + 1);
      if (i + 1 < n) os << ',' << std::string(static_cast<std::size_t>(shape.rank() - dim - 1), '\n')
                        << std::string(static_cast<std::size_t>(indent + 1), ' ');
    }
  }
  os << ']';
}

}  // namespace detail

template <class T, class D>
std::ostream& operator<<(std::ostream& os, const Tensor<T, D>& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  if constexpr (!std::is_same_v<D, cpu>) {
    return os << t.template to<cpu>() << " on " << device_name<D>;
  } else {
    constexpr int decimals = 4;
    const bool summarise = t.numel() > 1000;
    std::size_t width = 0;
    for (std::int64_t i = 0; i < t.numel(); ++i)
      width = std::max(width, detail::format_element(t.data()[i], decimals).size());
    os << "tensor(";
    detail::print_rec(os, t.data(), t.shape(), 0, 0, summarise, width, decimals, 7);
    return os << ", shape=" << t.shape() << ", dtype=" << dtype_name<T>() << ')';
  }
}

}  // namespace fastpp
