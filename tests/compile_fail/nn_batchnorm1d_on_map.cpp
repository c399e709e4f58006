// BatchNorm1d normalises [N, features]: on the 4-D map a convolution gives it must not compile, and the
// message names BatchNorm2d, the layer that fits there.
// expect: on a map use BatchNorm2d, or put a Flatten before the BatchNorm1d
// expect-errors: 1
// expect-gcc: BatchNorm1d<16> follows Conv2d<3, 16>, which gives a 4-D map
// expect-clang: the_layer<BatchNorm1d<16, cpu, float>>::follows<Conv2d<3, 16
#include <fastpp/nn.hpp>

using namespace fastpp::nn;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  Sequential<Conv2d<3, 16>, BatchNorm1d<16>, ReLU> net;
#else
  Sequential<Conv2d<3, 16>, BatchNorm2d<16>, ReLU> net;
#endif
  return static_cast<int>(net.out_channels) - 16;
}
