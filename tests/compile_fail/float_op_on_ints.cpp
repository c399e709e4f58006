// A floating-point operation on an integer tensor must not compile.
// expect: cast the tensor to float first
#include <fastpp/core/math.hpp>

int main() {
#ifdef FASTPP_SHOULD_FAIL
  auto t = fastpp::Tensor<std::int32_t>::zeros({4});
#else
  auto t = fastpp::Tensor<float>::zeros({4});
#endif
  auto e = fastpp::exp(t);
  return static_cast<int>(e.numel()) - 4;
}
