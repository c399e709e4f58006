// Only layers go into a Sequential: a type without forward/backward/for_each_param/channel counts
// must be refused with a message saying what a layer needs.
// It is the only error: Sequential looks no further into the type (g++ printed six follow-on errors).
// expect: Sequential takes layers only
// expect-errors: 1
#include <fastpp/nn.hpp>

using namespace fastpp::nn;

struct Scale {  // forgot backward, for_each_param and the channel counts
  fastpp::Tensor<float> forward(Ctx&, const fastpp::Tensor<float>& x) { return x; }
};

int main() {
#ifdef FASTPP_SHOULD_FAIL
  Sequential<Conv2d<3, 8>, Scale> net;
#else
  Sequential<Conv2d<3, 8>, ReLU> net;
#endif
  return static_cast<int>(net.out_channels) - 8;
}
