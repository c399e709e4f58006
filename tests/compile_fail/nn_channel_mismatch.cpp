// A BatchNorm2d whose channel count differs from the convolution before it must not compile.
// g++ also prints the sentence "BatchNorm2d<32> follows ReLU with 64 output channels";
// clang shows both layer types and both numbers in "in instantiation of channels_must_match<...>".
// expect: a layer's input channels must equal the previous layer's output channels
#include <fastpp/nn.hpp>

using namespace fastpp::nn;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  Sequential<Conv2d<3, 64, ConvOpts{.kernel = 3, .padding = 1}>, ReLU, BatchNorm2d<32>> net;
#else
  Sequential<Conv2d<3, 64, ConvOpts{.kernel = 3, .padding = 1}>, ReLU, BatchNorm2d<64>> net;
#endif
  return static_cast<int>(net.out_channels) - 64;
}
