#include <catch2/catch.hpp>
#include <cmath>
#include <fastpp/core/half.hpp>
#include <limits>

using namespace fastpp;

// Reference values are IEEE 754 binary16 / bfloat16 encodings (as numpy.float16 and torch.bfloat16 give).
TEST_CASE("half converts with round-to-nearest-even", "[half]") {
  CHECK(half(1.0f).bits == 0x3c00);
  CHECK(half(-2.0f).bits == 0xc000);
  CHECK(half(65504.0f).bits == 0x7bff);                // largest finite
  CHECK(half(65520.0f).bits == 0x7c00);                // rounds to inf
  CHECK(half(65519.99f).bits == 0x7bff);
  CHECK(half(6.103515625e-05f).bits == 0x0400);        // smallest normal 2^-14
  CHECK(half(5.960464477539063e-08f).bits == 0x0001);  // smallest subnormal 2^-24
  CHECK(half(2.98023223876953125e-08f).bits == 0x0000);  // 2^-25 is a tie: to even (0)
  CHECK(half(2.99e-08f).bits == 0x0001);
  CHECK(half(1.0009765625f).bits == 0x3c01);           // 1 + 2^-10
  CHECK(half(1.00048828125f).bits == 0x3c00);          // 1 + 2^-11: tie, to even
  CHECK(half(1.00146484375f).bits == 0x3c02);          // 1 + 3*2^-11: tie, to even (up)
  CHECK(half(0.1f).bits == 0x2e66);
  CHECK(half(std::numeric_limits<float>::infinity()).bits == 0x7c00);
  CHECK(std::isnan(static_cast<float>(half(std::nanf("")))));
  CHECK(half(-0.0f).bits == 0x8000);
}

TEST_CASE("half round-trips every finite value exactly", "[half]") {
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const auto h = half::from_bits(static_cast<std::uint16_t>(b));
    const float f = h;
    if (std::isnan(f)) continue;
    REQUIRE(half(f).bits == h.bits);
  }
  CHECK(static_cast<float>(half::from_bits(0x0001)) == std::ldexp(1.0f, -24));
  CHECK(static_cast<float>(half::from_bits(0x03ff)) == std::ldexp(1023.0f, -24));
}

TEST_CASE("bfloat16 converts with round-to-nearest-even", "[half]") {
  CHECK(bfloat16(1.0f).bits == 0x3f80);
  CHECK(bfloat16(0.1f).bits == 0x3dcd);
  CHECK(bfloat16(3.140625f).bits == 0x4049);
  CHECK(bfloat16(1.00390625f).bits == 0x3f80);  // 1 + 2^-8: tie, to even
  CHECK(bfloat16(1.01171875f).bits == 0x3f82);  // 1 + 3*2^-8: tie, to even (up)
  CHECK(std::isnan(static_cast<float>(bfloat16(std::nanf("")))));
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const auto h = bfloat16::from_bits(static_cast<std::uint16_t>(b));
    const float f = h;
    if (std::isnan(f)) continue;
    REQUIRE(bfloat16(f).bits == h.bits);
  }
}
