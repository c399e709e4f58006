// A Linear after a pooling layer (through a ReLU, which keeps the rank) without Flatten must not compile:
// the pool gives a 4-D map, the Linear takes [N, features]. The rank mismatch is the only message,
// though the widths disagree too.
// expect: put a Flatten before the Linear
// expect-errors: 1
#include <fastpp/nn.hpp>

using namespace fastpp::nn;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  Sequential<Conv2d<3, 8>, MaxPool2d<PoolOpts{.kernel = 2}>, ReLU, Linear<200, 10>> net;
#else
  Sequential<Conv2d<3, 8>, MaxPool2d<PoolOpts{.kernel = 2}>, ReLU, Flatten, Linear<200, 10>> net;
#endif
  return static_cast<int>(net.out_channels) - 10;
}
