#pragma once
// Shared by the nn and models tests: reading a PyTorch fixture and comparing within a tolerance that
// grows with the reduction length.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fastpp/nn.hpp>
#include <string>

namespace fixture {

inline std::string dir(const std::string& area) { return std::string(FASTPP_TEST_DATA_DIR) + "/fixtures/" + area + "/"; }

inline fastpp::Tensor<float> tensor(const fastpp::io::SafeTensors& st, const std::string& key) {
  auto it = st.tensors.find(key);
  REQUIRE(it != st.tensors.end());
  return it->second.to_float();
}

// float32 against a float64 reference: each output is a sum of `reduction` products, whose rounding
// error grows at worst linearly with its length; 3e-7 per term is a few float32 ulps (6e-8) per term.
inline double tolerance(double ref_scale, double reduction) { return (1e-6 + 3e-7 * reduction) * std::max(1.0, ref_scale); }

inline void expect_close(const float* got, const fastpp::io::StTensor& ref, double reduction, const std::string& what) {
  double scale = 0, worst = 0;
  for (std::int64_t i = 0; i < ref.numel(); ++i) scale = std::max(scale, std::abs(ref.at(i)));
  for (std::int64_t i = 0; i < ref.numel(); ++i) worst = std::max(worst, std::abs(got[i] - ref.at(i)));
  const double tol = tolerance(scale, reduction);
  INFO(what << ": max |fastpp - torch| = " << worst << ", tolerance " << tol << " (max |torch| = " << scale << ")");
  if (std::getenv("FASTPP_SHOW_ERRORS")) std::fprintf(stderr, "%-28s err %.3g tol %.3g\n", what.c_str(), worst, tol);
  CHECK(worst <= tol);
}

inline void expect_close(const fastpp::Tensor<float>& got, const fastpp::io::SafeTensors& st, const std::string& key,
                         double reduction) {
  auto it = st.tensors.find(key);
  REQUIRE(it != st.tensors.end());
  REQUIRE(got.numel() == it->second.numel());
  expect_close(got.data(), it->second, reduction, key);
}

}  // namespace fixture
