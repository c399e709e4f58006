#pragma once
// Comparing a network's tensors across dtypes and devices (tests/fp16/test_half_layers.cpp: half against
// float; tests/cuda/test_mixed_layers.cpp: the GPU's half against the cpu's): a tensor's values as floats
// on the host, the relative L2 error, and every parameter's gradient.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include <fastpp/core/tensor.hpp>

namespace fastpp::test {

// A tensor's values as floats, copied to the host first when it lives on a device.
template <class T, class D>
std::vector<float> float_values(const Tensor<T, D>& t) {
  const auto h = t.template to<cpu>();
  std::vector<float> out(static_cast<std::size_t>(h.numel()));
  for (std::size_t k = 0; k < out.size(); ++k) out[k] = static_cast<float>(h.data()[k]);
  return out;
}

// ||a - b|| / ||a||: the error relative to the tensor's size. Not the largest element's error: a max pool
// whose window holds two values that round to the same low-precision number may route a gradient to the other
// one, a large change in two elements that says nothing about the kernels.
inline double relative_l2_error(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double err = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    err += d * d;
    norm += static_cast<double>(a[i]) * a[i];
  }
  return norm > 0 ? std::sqrt(err / norm) : std::sqrt(err);
}

// The same between two tensors of any dtypes and devices.
template <class T1, class D1, class T2, class D2>
double relative_l2_error(const Tensor<T1, D1>& a, const Tensor<T2, D2>& b) {
  return relative_l2_error(float_values(a), float_values(b));
}

// Every parameter's gradient, in for_each_param order.
template <class M>
std::vector<std::vector<float>> gradients_of(M& m) {
  std::vector<std::vector<float>> out;
  m.for_each_param([&](const std::string&, auto& p) { out.push_back(float_values(p.grad)); });
  return out;
}

}  // namespace fastpp::test
