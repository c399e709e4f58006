// Adding a cpu tensor to a cuda tensor must not compile: data moves between devices only explicitly.
// expect: cannot combine a cpu tensor with a cuda tensor
#include <fastpp/core/ops.hpp>

int main() {
  auto a = fastpp::Tensor<float, fastpp::cpu>::zeros({2, 3});
#ifdef FASTPP_SHOULD_FAIL
  fastpp::Tensor<float, fastpp::cuda> b;
  auto c = a + b;
#else
  auto b = a.clone();
  auto c = a + b;
#endif
  return static_cast<int>(c.numel()) - 6;
}
