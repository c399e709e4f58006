#pragma once
// What the GPU tests share: device copies of host vectors, NaN-poisoned outputs (an element a kernel never
// writes fails), results back on the host, and the comparison of a GPU result with the cpu's.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <fastpp/core.hpp>
#include <limits>
#include <vector>

namespace gpu_compare {

using fastpp::cpu;
using fastpp::cuda;
using fastpp::Tensor;

template <class T>
Tensor<T, cuda> device(const std::vector<T>& v) {
  return Tensor<T>::from({static_cast<std::int64_t>(v.size())}, v).template to<cuda>();
}
// n floats of NaN on the device: the output a kernel must overwrite.
inline Tensor<float, cuda> poisoned(std::int64_t n) {
  return Tensor<float>::full({n}, std::numeric_limits<float>::quiet_NaN()).template to<cuda>();
}
template <class T>
std::vector<T> host(const Tensor<T, cuda>& t) {
  const auto h = t.template to<cpu>();
  return std::vector<T>(h.data(), h.data() + h.numel());
}
// A half or bfloat16 result, widened to float for check_close.
template <class T>
std::vector<float> host_floats(const Tensor<T, cuda>& t) {
  const auto h = t.template to<cpu>();
  std::vector<float> out(static_cast<std::size_t>(h.numel()));
  for (std::size_t k = 0; k < out.size(); ++k) out[k] = static_cast<float>(h.data()[k]);
  return out;
}

// Every element of gpu within tol of cpu, relative, with an absolute floor of tol * the largest finite |cpu|;
// NaN only where the cpu has NaN. Names the count and the first that differs.
inline void check_close(const std::vector<float>& gpu, const std::vector<float>& cpu_values, double tol,
                        const char* what) {
  REQUIRE(gpu.size() == cpu_values.size());
  double scale = 0;
  for (float c : cpu_values)
    if (std::isfinite(c)) scale = std::max(scale, std::abs(static_cast<double>(c)));
  std::size_t bad = 0, first = 0;
  for (std::size_t k = 0; k < cpu_values.size(); ++k) {
    const double c = cpu_values[k], g = gpu[k];
    const bool ok = std::isnan(c) ? std::isnan(g) : std::abs(g - c) <= tol * (std::abs(c) + scale);
    if (!ok) first = bad++ == 0 ? k : first;
  }
  INFO(what << ": " << bad << " of " << cpu_values.size() << " differ; first at " << first << ": gpu "
            << (bad ? gpu[first] : 0.0f) << ", cpu " << (bad ? cpu_values[first] : 0.0f) << " (scale " << scale
            << ")");
  CHECK(bad == 0);
}

}  // namespace gpu_compare
