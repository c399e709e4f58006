// A BatchNorm2d whose channel count differs from the convolution before it must not compile.
// Beside the message, g++ prints the sentence and clang the same sentence as names (clang 14 prints a
// text template argument as character codes).
// expect: a layer's input channels must equal the previous layer's output channels
// expect-gcc: BatchNorm2d<32> follows ReLU with 64 output channels
// expect-clang: the_layer<BatchNorm2d<32, cpu, float>>::follows<ReLUOn<cpu, float>>::with_output_channels<64>
// expect-errors: 1
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
