// A user's program: includes the umbrella header and uses a tensor, the RNG and the thread pool.
#include <fastpp/fastpp.hpp>
#include <iostream>

int main() {
  auto t = fastpp::Tensor<float>::from({2, 2}, {1, 2, 3, 4});
  fastpp::Rng rng(1);
  double s = 0;
  fastpp::parallel_for(0, 4, 1, [&](std::int64_t, std::int64_t) {});
  s = fastpp::sum(t) + rng.uniform() * 0;
  std::cout << t << "\nsum = " << s << '\n';
  return s == 10.0 ? 0 : 1;
}
