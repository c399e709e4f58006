#pragma once
// The deterministic weights and input of tests/fixtures/models/make_resnet_fixtures.py, in C++.
#include <fastpp/models.hpp>

#include <cmath>
#include <cstring>

#include "../nn/torch_fixture.hpp"

namespace formula_fixture {
using namespace fastpp;


// The formula of tests/fixtures/models/make_resnet_fixtures.py.
inline double key_phase(const std::string& name) {
  long s = 0;
  for (std::size_t j = 0; j < name.size(); ++j) s += static_cast<long>(j + 1) * static_cast<unsigned char>(name[j]);
  return static_cast<double>(s % 1000) / 100.0;
}
inline io::StTensor formula(const std::string& name, const std::vector<std::int64_t>& shape) {
  io::StTensor t;
  t.dtype = io::StDtype::F64;
  t.shape = shape;
  const std::int64_t n = t.numel();
  t.bytes.resize(static_cast<std::size_t>(n) * 8);
  const auto ends = [&](const char* suffix) {
    const std::string s = suffix;
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  for (std::int64_t i = 0; i < n; ++i) {
    const double s = std::sin(0.1 * static_cast<double>(i) + key_phase(name));
    double v;
    if (ends("running_var")) v = 1.0 + 0.5 * std::abs(s);
    else if (ends("running_mean")) v = 0.1 * s;
    else if (shape.size() >= 2) v = s * (2.0 / std::sqrt(static_cast<double>(n / shape[0])));
    else if (ends("weight")) v = 1.0 + 0.2 * s;
    else v = 0.1 * s;
    std::memcpy(t.bytes.data() + i * 8, &v, 8);
  }
  return t;
}
// x[n, c, h, w] = sin(0.01 i) + 0.5 cos(0.7 i) for the NCHW flat index i, stored NHWC.
inline Tensor<float> formula_input(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
  auto x = Tensor<float>::empty({n, h, w, c});
  for (std::int64_t i = 0; i < n * c * h * w; ++i) {
    const std::int64_t b = i / (c * h * w), ch = (i / (h * w)) % c, y = (i / w) % h, xx = i % w;
    x(b, y, xx, ch) = static_cast<float>(std::sin(0.01 * static_cast<double>(i)) + 0.5 * std::cos(0.7 * static_cast<double>(i)));
  }
  return x;
}
template <class M>
void load_formula_weights(M& model) {
  io::SafeTensors st;
  for (const auto& [name, t] : models::state_dict(model).tensors)
    st.tensors[name] = name.find("num_batches_tracked") != std::string::npos ? io::StTensor::scalar_i64(0) : formula(name, t.shape);
  models::load_state_dict(model, st);  // strict
}

}  // namespace formula_fixture
