#pragma once
// The element types a Tensor may hold, their names, and the type used to accumulate them.
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "half.hpp"

namespace fastpp {

template <class T>
inline constexpr bool is_dtype_v =
    std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, half> ||
    std::is_same_v<T, bfloat16> || std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::int32_t> ||
    std::is_same_v<T, std::int64_t>;

// Any element type a Tensor can hold.
template <class T>
concept DType = is_dtype_v<T>;

// float, double, half and bfloat16: the types that math such as exp, softmax or a convolution accepts.
template <class T>
concept FloatDType = std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, half> ||
                     std::is_same_v<T, bfloat16>;

// uint8, int32, int64: pixels, labels, counters.
template <class T>
concept IntDType = std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::int32_t> ||
                   std::is_same_v<T, std::int64_t>;

// The type that sums of T are accumulated in: half and bfloat16 accumulate in float.
template <class T>
struct accumulate_type {
  using type = T;
};
template <>
struct accumulate_type<half> {
  using type = float;
};
template <>
struct accumulate_type<bfloat16> {
  using type = float;
};
template <class T>
using acc_t = typename accumulate_type<T>::type;

template <DType T>
constexpr std::string_view dtype_name() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  else if constexpr (std::is_same_v<T, double>) return "float64";
  else if constexpr (std::is_same_v<T, half>) return "float16";
  else if constexpr (std::is_same_v<T, bfloat16>) return "bfloat16";
  else if constexpr (std::is_same_v<T, std::uint8_t>) return "uint8";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "int32";
  else return "int64";
}

}  // namespace fastpp
