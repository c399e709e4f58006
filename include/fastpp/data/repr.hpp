#pragma once
// Short descriptions of the values summary() shows (after fastai's short repr: a small tensor prints its
// values, a large one its type and size).
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "../core/dtype.hpp"
#include "../core/tensor.hpp"
#include "category.hpp"
#include "multi_category.hpp"

namespace fastpp {

inline std::string short_repr(const std::filesystem::path& p) { return detail::msg("Path('", p.generic_string(), "')"); }
inline std::string short_repr(const std::string& s) { return s; }
// Several labels, as Python prints a list of str: ['cat', 'dog'].
inline std::string short_repr(const std::vector<std::string>& labels) {
  std::string s = "[";
  for (std::size_t i = 0; i < labels.size(); ++i) s += (i ? ", '" : "'") + labels[i] + "'";
  return s + "]";
}
inline std::string short_repr(const Category& c) {
  std::ostringstream os;
  os << c;
  return os.str();
}
inline std::string short_repr(const MultiCategory& m) {
  std::ostringstream os;
  os << m;
  return os.str();
}

// "Image of size 375x500x3 (uint8 HWC)" for an item, "Tensor<float32> of size 4x224x224x3" for a batch,
// the values for a tensor of at most 20 elements and rank 1.
template <class T>
std::string short_repr(const Tensor<T, cpu>& t) {
  std::ostringstream os;
  if (!t.defined()) return "undefined tensor";
  if (t.rank() == 1 && t.numel() <= 20) {
    os << "Tensor<" << dtype_name<T>() << ">([";
    for (std::int64_t i = 0; i < t.numel(); ++i) os << (i ? ", " : "") << +t.data()[i];
    os << "])";
    return os.str();
  }
  const bool image = std::is_same_v<T, std::uint8_t> && t.rank() == 3;
  if (image) os << "Image";
  else os << "Tensor<" << dtype_name<T>() << ">";
  os << " of size ";
  for (int d = 0; d < t.rank(); ++d) os << (d ? "x" : "") << t.size(d);
  if (image) os << " (uint8 HWC)";
  return os.str();
}

}  // namespace fastpp
