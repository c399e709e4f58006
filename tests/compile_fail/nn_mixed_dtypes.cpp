// A layer with another activation dtype than its neighbours must not compile: the sentence says how to build
// the whole network in one dtype.
// expect: every layer of a network must use the same activation dtype
#include <fastpp/nn.hpp>

using namespace fastpp::nn;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  Sequential<Conv2d<3, 8>, ReLUOn<fastpp::cpu, fastpp::half>> net;
#else
  Sequential<Conv2d<3, 8, ConvOpts{}, fastpp::cpu, fastpp::half>, ReLUOn<fastpp::cpu, fastpp::half>> net;
#endif
  return static_cast<int>(net.out_channels) - 8;
}
