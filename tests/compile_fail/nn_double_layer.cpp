// Layers have no double kernels: a double layer must not compile, and say which activation dtypes there are.
// expect: a layer's activations are float, half or bfloat16
#include <fastpp/nn.hpp>

using namespace fastpp::nn;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  ReLUOn<fastpp::cpu, double> relu;
#else
  ReLUOn<fastpp::cpu, fastpp::bfloat16> relu;
#endif
  return relu.in_channels == any_channels ? 0 : 1;
}
