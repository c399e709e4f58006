// The free functions take class indices as int64, int32 or uint8 tensors, as the loss objects do (issue 18:
// int32 targets are accepted, widened to int64 by the device's kernel): every index type gives the same
// bits as int64, and a bad index is reported with its row and value whatever its type.
#include <catch2/catch.hpp>
#include <cstring>
#include <fastpp/core/rng.hpp>
#include <fastpp/loss.hpp>

using namespace fastpp;

namespace {
template <class T>
bool same_bits(const Tensor<T>& a, const Tensor<T>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.nbytes()) == 0;
}

// Every class-index function's outputs for these targets.
template <class Targets>
std::vector<Tensor<float>> outputs(const Tensor<float>& x, const Targets& t) {
  const NllOptions o{.weight = Tensor<float>::full({x.size(1)}, 0.5f), .reduction = Reduction::sum};
  const LabelSmoothingOptions lo{.eps = 0.2, .reduction = Reduction::none};
  const auto grad = Tensor<float>::full({1}, 1.5f);
  std::vector<Tensor<float>> r;
  r.push_back(cross_entropy(x, t));
  r.push_back(cross_entropy(x, t, o));
  auto loss = Tensor<float>::empty({1}), lse = Tensor<float>::empty({x.size(0)});
  cross_entropy_out(x, t, o, loss, lse);
  r.push_back(loss);
  r.push_back(lse);
  r.push_back(cross_entropy_backward(x, t, o, lse, grad));
  auto dx = Tensor<float>::empty(x.shape());
  cross_entropy_forward_backward_out(x, t, o, grad, loss, dx);
  r.push_back(loss);
  r.push_back(dx);
  const auto logp = log_softmax(x);
  r.push_back(nll_loss(logp, t, o));
  r.push_back(nll_loss_backward(logp, t, o, grad));
  r.push_back(cross_entropy(x, t, lo));
  cross_entropy_forward_backward_out(x, t, lo, Tensor<float>::full({x.size(0)}, 0.7f),
                                                     r.emplace_back(Tensor<float>::empty({x.size(0)})), dx);
  r.push_back(dx);
  return r;
}
}  // namespace

TEST_CASE("int32 and uint8 class indices give the bits of int64 ones in every free function", "[loss]") {
  const std::int64_t n = 19, c = 13;
  Rng rng(18);
  auto x = Tensor<float>::empty({n, c});
  for (auto& v : x) v = static_cast<float>(rng.normal() * 3);
  auto t = Tensor<std::int64_t>::empty({n});
  for (auto& v : t) v = static_cast<std::int64_t>(rng.below(static_cast<std::uint32_t>(c)));
  const auto want = outputs(x, t);
  const auto by_int32 = outputs(x, t.cast<std::int32_t>());
  const auto by_uint8 = outputs(x, t.cast<std::uint8_t>());
  REQUIRE(want.size() == by_int32.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("output " << i);
    CHECK(same_bits(want[i], by_int32[i]));
    CHECK(same_bits(want[i], by_uint8[i]));
  }
}

TEST_CASE("a bad int32 or uint8 class index is refused with its row and value", "[loss]") {
  auto x = Tensor<float>::zeros({3, 4});
  auto t32 = Tensor<std::int32_t>::zeros({3});
  t32.data()[1] = 4;
  CHECK_THROWS_MATCHES(cross_entropy(x, t32), IndexError, Catch::Message(
      "cross_entropy: target 4 at row 1 is not a class index in [0, 4) and not the ignore_index -100"));
  auto t8 = Tensor<std::uint8_t>::zeros({3});
  t8.data()[2] = 200;
  CHECK_THROWS_WITH(nll_loss(log_softmax(x), t8), Catch::Contains("target 200 at row 2"));
  CHECK_THROWS_WITH(cross_entropy(x, Tensor<std::int32_t>{}), Catch::Contains("the targets tensor is undefined"));
}
