// A tensor of an element type fastpp does not support must not compile, and say which types it takes.
// expect: Tensor's element type must be one of float, double
#include <fastpp/core/tensor.hpp>

int main() {
#ifdef FASTPP_SHOULD_FAIL
  auto t = fastpp::Tensor<char>::zeros({4});
#else
  auto t = fastpp::Tensor<std::uint8_t>::zeros({4});
#endif
  return static_cast<int>(t.numel()) - 4;
}
