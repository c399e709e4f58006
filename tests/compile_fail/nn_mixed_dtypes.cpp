// A layer with another activation dtype than its neighbours must not compile, and neither may a layer
// over a dtype that has no layer kernels yet. (Layers compute in float today.)
// expect: layers compute in float
#include <fastpp/nn.hpp>

using namespace fastpp::nn;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  Sequential<Conv2d<3, 8>, ReLUOn<fastpp::cpu, fastpp::half>> net;
#else
  Sequential<Conv2d<3, 8>, ReLUOn<fastpp::cpu, float>> net;
#endif
  return static_cast<int>(net.out_channels) - 8;
}
