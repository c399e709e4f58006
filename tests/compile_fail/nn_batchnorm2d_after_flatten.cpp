// BatchNorm2d normalises a 4-D map: after Flatten (a [N, features] tensor) it must not compile, and the
// message names BatchNorm1d, the layer that fits there.
// expect: after those use BatchNorm1d, or move the BatchNorm2d before the Flatten
// expect-errors: 1
// expect-gcc: BatchNorm2d<16> follows Flatten, which gives a flat [N, features] tensor
// expect-clang: the_layer<BatchNorm2d<16, cpu, float>>::follows<FlattenOn<cpu, float>>::which_gives_a_flat_tensor
#include <fastpp/nn.hpp>

using namespace fastpp::nn;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  Sequential<Conv2d<3, 16>, AdaptiveAvgPool2d<1>, Flatten, BatchNorm2d<16>, Linear<16, 10>> net;
#else
  Sequential<Conv2d<3, 16>, AdaptiveAvgPool2d<1>, Flatten, BatchNorm1d<16>, Linear<16, 10>> net;
#endif
  return static_cast<int>(net.out_channels) - 10;
}
