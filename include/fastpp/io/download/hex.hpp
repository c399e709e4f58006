#pragma once
// Lowercase hex of a digest, the form fastai and sha256sum print.
#include <cstddef>
#include <cstdint>
#include <string>

namespace fastpp {

template <class Bytes>
std::string to_hex(const Bytes& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0xf]);
  }
  return out;
}

}  // namespace fastpp
