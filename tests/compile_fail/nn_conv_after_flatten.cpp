// A convolution or pooling layer takes a 4-D map: after Flatten or Linear it must not compile.
// expect: convolutions and pools take a 4-D NHWC map but this one follows a layer that gives a flat
// expect-errors: 1
#include <fastpp/nn.hpp>

using namespace fastpp::nn;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  Sequential<Conv2d<3, 8>, Flatten, MaxPool2d<>, Linear<8, 2>> net;
#else
  Sequential<Conv2d<3, 8>, MaxPool2d<>, AdaptiveAvgPool2d<1>, Flatten, Linear<8, 2>> net;
#endif
  return static_cast<int>(net.out_channels) - 2;
}
