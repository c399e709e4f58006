// Dropout's parameter is a whole percentage (clang 14 takes no floating-point template arguments):
// Dropout<0.5>, written as PyTorch's nn.Dropout(0.5), must be refused with that sentence rather than
// "conversion from double to int".
// expect: the drop probability is a whole percentage: write Dropout<50> for PyTorch's nn.Dropout(0.5)
// expect-errors: 1
#include <fastpp/nn.hpp>

using namespace fastpp::nn;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  Sequential<Linear<8, 8>, Dropout<0.5>> net;
#else
  Sequential<Linear<8, 8>, Dropout<50>> net;
#endif
  return static_cast<int>(net.out_channels) - 8;
}
