#pragma once
// Devices are types. A tensor's device is part of its type, so an operation that mixes a cpu tensor
// with a cuda tensor does not compile; moving data between them is always an explicit `.to<cuda>()`.
#include <string_view>
#include <type_traits>

namespace fastpp {

struct cpu {
  static constexpr std::string_view name = "cpu";
};
struct cuda {
  static constexpr std::string_view name = "cuda";
};

template <class D>
inline constexpr bool is_device_v = std::is_same_v<D, cpu> || std::is_same_v<D, cuda>;

template <class D>
concept Device = is_device_v<D>;

}  // namespace fastpp
