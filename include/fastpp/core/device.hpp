#pragma once
// Devices are types. A tensor's device is part of its type, so an operation that mixes a cpu tensor
// with a cuda tensor does not compile; moving data between them is always an explicit `.to<cuda>()`.
//
// A device is a tag plus three things keyed on it:
//   device_traits<D>          its name and whether the host can read its memory directly
//   allocator<D>              where its memory comes from (core/allocator.hpp)
//   backend::*_kernels<D>     the kernels the layers and losses call (include/fastpp/backend/)
// Nothing in nn/ or loss/ names a device: adding one means those three specialisations (tests/nn's
// counting device is a complete example in one file).
#include <string_view>
#include <type_traits>

namespace fastpp {

struct cpu {};
struct cuda {};

// Specialise for a new device tag. `host_accessible` says whether a host pointer to its memory may be
// dereferenced (element access, iteration, Tensor::from, memcpy between such devices).
template <class D>
struct device_traits {
  static constexpr bool is_device = false;
};
template <>
struct device_traits<cpu> {
  static constexpr bool is_device = true;
  static constexpr bool host_accessible = true;
  static constexpr std::string_view name = "cpu";
};
template <>
struct device_traits<cuda> {
  static constexpr bool is_device = true;
  static constexpr bool host_accessible = false;
  static constexpr std::string_view name = "cuda";
};

template <class D>
inline constexpr bool is_device_v = device_traits<D>::is_device;

template <class D>
concept Device = is_device_v<D>;

// Memory the host may read and write element by element.
template <class D>
concept HostDevice = Device<D> && device_traits<D>::host_accessible;

template <Device D>
inline constexpr std::string_view device_name = device_traits<D>::name;

}  // namespace fastpp
