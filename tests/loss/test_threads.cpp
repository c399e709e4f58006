// The loss kernels give the same bits with 1 and 2 threads: blocks of rows are fixed by the row length.
#include <catch2/catch.hpp>
#include <cstring>
#include <fastpp/core/rng.hpp>
#include <fastpp/loss.hpp>

using namespace fastpp;

namespace {
bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.nbytes()) == 0;
}
}  // namespace

TEST_CASE("loss results do not depend on the thread count", "[loss][threads]") {
  const std::int64_t n = 3000, c = 37;  // several blocks of rows
  Rng rng(7);
  auto x = Tensor<float>::empty({n, c});
  for (auto& v : x) v = static_cast<float>(rng.normal() * 3);
  auto t = Tensor<std::int64_t>::empty({n});
  for (auto& v : t) v = static_cast<std::int64_t>(rng.below(static_cast<std::uint32_t>(c)));
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<Tensor<float>> r;
    r.push_back(softmax(x));
    r.push_back(log_softmax(x));
    r.push_back(cross_entropy(x, t));
    r.push_back(cross_entropy(x, t, {.reduction = Reduction::sum}));
    r.push_back(cross_entropy(x, t, LabelSmoothingOptions{}));
    auto dx = Tensor<float>::empty(x.shape());
    auto loss = Tensor<float>::empty({1});
    cross_entropy_forward_backward_out(x, t, {}, Tensor<float>::full({1}, 1.0f), loss, dx);
    r.push_back(loss);
    r.push_back(dx);
    r.push_back(binary_cross_entropy_with_logits(x, sigmoid(x)));
    return r;
  };
  const int before = get_num_threads();
  const auto one = run(1);
  const auto two = run(2);
  set_num_threads(before);
  for (std::size_t i = 0; i < one.size(); ++i) {
    INFO("result " << i);
    CHECK(same_bits(one[i], two[i]));
  }
}
