// Conv2d's groups must divide both channel counts.
// expect: Conv2d: groups must divide both Cin and Cout
// expect-errors: 1
#include <fastpp/nn.hpp>

using namespace fastpp::nn;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  Conv2d<6, 9, ConvOpts{.kernel = 3, .groups = 2}> conv;
#else
  Conv2d<6, 8, ConvOpts{.kernel = 3, .groups = 2}> conv;
#endif
  return static_cast<int>(conv.weight.value.numel() > 0) - 1;
}
