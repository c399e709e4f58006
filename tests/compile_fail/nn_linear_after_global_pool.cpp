// After a global pooling and Flatten, the feature count is the channel count (here 2 x 256 from the
// concatenated pooling): a Linear expecting another width must not compile.
// g++ also prints "Linear<256, 10> follows Flatten whose output has 512 features", clang the same as names.
// expect: a Linear's input width must equal the globally pooled feature count
// expect-errors: 1
// expect-gcc: Linear<256, 10> follows Flatten whose output has 512 features
// expect-clang: the_layer<Linear<256, 10, true, cpu, float>>::follows<FlattenOn<cpu, float>>::whose_output_has_features<512>
#include <fastpp/nn.hpp>

using namespace fastpp::nn;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  Sequential<Conv2d<3, 256>, AdaptiveConcatPool2d<1>, Flatten, Linear<256, 10>> net;
#else
  Sequential<Conv2d<3, 256>, AdaptiveConcatPool2d<1>, Flatten, Linear<512, 10>> net;
#endif
  return static_cast<int>(net.out_channels) - 10;
}
