// A network whose layers sit on different devices must not compile: a layer cannot read another
// device's activation. The message says how to build the whole network for one device; g++'s note
// names both layers and their devices ("ReLU on cpu follows Conv2d<3, 8> on other").
// expect: every layer of a network must run on the same device
// expect-errors: 1
// expect-gcc: ReLU on cpu follows Conv2d<3, 8> on other
// expect-clang: the_layer<ReLUOn<cpu, float>>::follows<Conv2d<3, 8, {3, 1, 0, 1, 1, true}, other, float>>::on_another_device
#include <fastpp/nn.hpp>

// A second device for the snippet: host memory, the cpu's kernels.
struct other {};
template <>
struct fastpp::device_traits<other> {
  static constexpr bool is_device = true;
  static constexpr bool host_accessible = true;
  static constexpr std::string_view name = "other";
};
template <>
struct fastpp::allocator<other> : fastpp::allocator<fastpp::cpu> {};
template <>
struct fastpp::backend::layer_kernels<other> : fastpp::backend::layer_kernels<fastpp::cpu> {};

using namespace fastpp::nn;

using CpuNet = Sequential<Conv2d<3, 8>, ReLU>;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  using Net = Sequential<Conv2d<3, 8, ConvOpts{}, other>, ReLU>;
#else
  using Net = on_device_t<CpuNet, other>;  // the fix: one network, rebuilt for the device
#endif
  Net net;
  static_assert(std::is_same_v<Net::device_type, other>);
  return static_cast<int>(net.out_channels) - 8;
}
