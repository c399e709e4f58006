// A Linear right after a convolution, without Flatten, must not compile even where the widths happen to
// agree: the convolution gives a 4-D map [N, H, W, 16], the Linear takes [N, features]. Both layers are
// named, by g++ as a sentence, by clang as names.
// expect: put a Flatten before the Linear
// expect-gcc: put a Flatten before Linear<16, 10>, which follows Conv2d<3, 16>
// expect-clang: put_a_Flatten_before<Linear<16, 10, true, cpu, float>>::which_follows<
// expect-errors: 1
#include <fastpp/nn.hpp>

using namespace fastpp::nn;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  Sequential<Conv2d<3, 16>, Linear<16, 10>> net;
#else
  Sequential<Conv2d<3, 16>, Flatten, Linear<16, 10>> net;  // the fix; the width is checked at construction
#endif
  return static_cast<int>(net.out_channels) - 10;
}
