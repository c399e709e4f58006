// fastai's head without its Flatten: AdaptiveConcatPool2d<1> gives [N, 1, 1, 2C], still a 4-D map, so
// a Linear right after it must not compile.
// expect: put a Flatten before the Linear
// expect-errors: 1
#include <fastpp/nn.hpp>

using namespace fastpp::nn;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  Sequential<Conv2d<3, 256>, AdaptiveConcatPool2d<1>, Linear<512, 10>> net;
#else
  Sequential<Conv2d<3, 256>, AdaptiveConcatPool2d<1>, Flatten, Linear<512, 10>> net;
#endif
  return static_cast<int>(net.out_channels) - 10;
}
