// A layer on the cuda device in a program not linked with fastpp::cuda: the compiler says how to get it,
// instead of the linker naming missing kernels (the first error; the call it stops is reported after it).
// expect: the cuda device's kernels are in the library fastpp::cuda
#include <fastpp/nn.hpp>

int main() {
#ifdef FASTPP_SHOULD_FAIL
  fastpp::nn::ReLUOn<fastpp::cuda> relu;
  fastpp::nn::Ctx ctx;
  auto y = relu.forward(ctx, fastpp::Tensor<float, fastpp::cuda>{});
#else
  fastpp::nn::ReLUOn<fastpp::cpu> relu;
  fastpp::nn::Ctx ctx;
  auto y = relu.forward(ctx, fastpp::Tensor<float, fastpp::cpu>::zeros({1, 2}));
#endif
  return static_cast<int>(y.numel()) - 2;
}
