#include <catch2/catch.hpp>
#include <fastpp/core.hpp>
#include <fastpp/backend/cpu/eigen.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

using namespace fastpp;

TEST_CASE("a tensor owns contiguous storage of its shape", "[tensor]") {
  auto t = Tensor<float>::zeros({2, 3, 4});
  CHECK(t.defined());
  CHECK(t.rank() == 3);
  CHECK(t.numel() == 24);
  CHECK(t.nbytes() == 96);
  CHECK(t.size(-1) == 4);
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % tensor_alignment == 0);
  for (float v : t) CHECK(v == 0.0f);
  t(1, 2, 3) = 5.0f;
  CHECK(t.data()[23] == 5.0f);
  CHECK(t.at(1, 2, 3) == 5.0f);
}

namespace {
// The VmFlags line of the mapping of this process that holds address p ("" if none is found).
std::string mapping_flags(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    const auto dash = line.find('-');
    const auto space = line.find(' ');
    // a mapping's header: "lo-hi perms ..." in hex
    if (dash != std::string::npos && space != std::string::npos && dash < space &&
        line.find_first_not_of("0123456789abcdef") == dash) {
      const auto lo = std::stoull(line.substr(0, dash), nullptr, 16);
      const auto hi = std::stoull(line.substr(dash + 1, space - dash - 1), nullptr, 16);
      inside = lo <= at && at < hi;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}
}  // namespace

TEST_CASE("large tensors are 2 MiB aligned and asked to live on huge pages", "[tensor][allocator]") {
  const auto small = Tensor<float>::zeros({1000});
  CHECK(reinterpret_cast<std::uintptr_t>(small.data()) % tensor_alignment == 0);
  const std::int64_t floats = static_cast<std::int64_t>(huge_page_threshold / sizeof(float));
  // the largest size class under the threshold: blocks from 1 MiB up are allocated rounded up to theirs
  const std::int64_t below_floats = static_cast<std::int64_t>((huge_page_threshold - (std::size_t{1} << 20)) / sizeof(float));
  REQUIRE(allocator<cpu>::cached_size(static_cast<std::size_t>(below_floats) * sizeof(float)) < huge_page_threshold);
  auto below = Tensor<float>::full({below_floats - 16}, 1.0f);
  CHECK(reinterpret_cast<std::uintptr_t>(below.data()) % tensor_alignment == 0);
  const bool turned_off = !detail::env_switch("FASTPP_HUGE_PAGES").value_or(true);
  auto big = Tensor<float>::full({floats + 3}, 2.0f);  // touches every page
  CHECK(big.data()[floats + 2] == 2.0f);
  const auto big_at = reinterpret_cast<std::uintptr_t>(big.data());
  CHECK(big_at % (turned_off ? tensor_alignment : huge_page_bytes) == 0);
  // The kernel keeps the advice as the mapping's "hg" flag whatever its THP mode; a kernel built without
  // THP has no sysfs folder for it and refuses the advice.
  if (std::filesystem::exists("/sys/kernel/mm/transparent_hugepage") && !turned_off) {
    const std::string flags = mapping_flags(big.data());
    INFO("VmFlags of the mapping holding the tensor: " << flags);
    CHECK(flags.find(" hg") != std::string::npos);
    CHECK(mapping_flags(below.data()).find(" hg") == std::string::npos);
  }
}

TEST_CASE("shapes outside rank 1..4 and bad indices are errors that name the value", "[tensor]") {
  CHECK_THROWS_AS(Shape({1, 2, 3, 4, 5}), ShapeError);
  CHECK_THROWS_WITH(Shape({2, -1}), Catch::Contains("negative: -1"));
  auto t = Tensor<int>::zeros({2, 3});
  CHECK_THROWS_WITH(t.at(2, 0), Catch::Contains("index 2 is out of range for dimension 0 of size 2"));
  CHECK_THROWS_WITH(t.at(0), Catch::Contains("at() got 1 indices for a tensor of rank 2"));
  CHECK_THROWS_AS(t.reshape({5}), ShapeError);
  CHECK_THROWS_WITH(Tensor<float>::from({2, 2}, {1, 2, 3}), Catch::Contains("3 values do not fill shape [2, 2]"));
}

TEST_CASE("copies share storage; clone copies the data", "[tensor]") {
  auto a = Tensor<float>::from({2, 2}, {1, 2, 3, 4});
  auto b = a;
  b(0, 0) = 10;
  CHECK(a(0, 0) == 10);
  CHECK(a.shares_storage_with(b));
  auto c = a.clone();
  c(0, 0) = -1;
  CHECK(a(0, 0) == 10);
  CHECK_FALSE(a.shares_storage_with(c));
}

TEST_CASE("leading-axis slices and reshapes are views", "[tensor]") {
  auto t = Tensor<std::int64_t>::empty({4, 3});
  for (std::int64_t i = 0; i < 12; ++i) t.data()[i] = i;
  auto rows = t.slice(1, 3);
  CHECK(rows.shape() == Shape{2, 3});
  CHECK(rows(0, 0) == 3);
  CHECK(rows(1, 2) == 8);
  rows(0, 0) = 100;
  CHECK(t(1, 0) == 100);
  auto row = t[3];
  CHECK(row.shape() == Shape{3});
  CHECK(row(1) == 10);
  auto flat = t.reshape({12});
  CHECK(flat(11) == 11);
  CHECK(t.slice(4, 4).numel() == 0);
  CHECK_THROWS_WITH(t.slice(2, 5), Catch::Contains("slice [2, 5) is out of range for a leading dimension of 4"));
  CHECK_THROWS_AS(t[4], IndexError);
}

TEST_CASE("element-wise operators and casts", "[tensor]") {
  auto a = Tensor<float>::from({3}, {1, 2, 3});
  auto b = Tensor<float>::from({3}, {0.5f, -1, 2});
  auto s = a + b;
  auto d = a - b;
  auto p = a * b;
  CHECK(s(2) == 5);
  CHECK(d(1) == 3);
  CHECK(p(0) == 0.5f);
  CHECK_THROWS_AS(a + Tensor<float>::zeros({4}), ShapeError);
  auto h = a.cast<half>();
  CHECK(static_cast<float>(h(2)) == 3.0f);
  auto i = Tensor<float>::from({2}, {1.7f, -2.2f}).cast<std::int32_t>();
  CHECK(i(0) == 1);
  CHECK(i(1) == -2);
  CHECK(allclose(exp(log(a)), a, 1e-6));
  CHECK(sum(a) == Approx(6.0));
  CHECK(mean(b) == Approx(0.5));
}

TEST_CASE("a cuda tensor in a build without CUDA is a clear run-time error", "[tensor]") {
#if !defined(FASTPP_WITH_CUDA)
  CHECK_THROWS_WITH((Tensor<float, cuda>::empty({2})), Catch::Contains("built without CUDA"));
  auto a = Tensor<float>::zeros({2});
  CHECK_THROWS_AS(a.to<cuda>(), UnavailableError);
#else
  SUCCEED("built with CUDA: covered by the GPU checks");
#endif
}

TEST_CASE("Eigen maps view the tensor without copying", "[tensor][eigen]") {
  auto t = Tensor<float>::from({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  auto m = as_matrix(t);
  CHECK(m.rows() == 2);
  CHECK(m.cols() == 4);
  CHECK(m(1, 0) == 5);
  m(0, 3) = 40;
  CHECK(t(0, 1, 1) == 40);
  auto w = Tensor<float>::from({4, 1}, {1, 1, 1, 1});
  auto out = Tensor<float>::zeros({2, 1});
  as_matrix(out).noalias() = as_matrix(t) * as_matrix(w);
  CHECK(out(0, 0) == Approx(1 + 2 + 3 + 40));
  CHECK(out(1, 0) == Approx(26));
  CHECK(as_vector(t).sum() == Approx(72));
}

TEST_CASE("tensors print as PyTorch prints them", "[tensor][print]") {
  std::ostringstream os;
  os << Tensor<float>::from({2, 2}, {1, -2.5f, 3, 4});
  CHECK(os.str() ==
        "tensor([[ 1.0000, -2.5000],\n"
        "        [ 3.0000,  4.0000]], shape=[2, 2], dtype=float32)");
  std::ostringstream ints;
  ints << Tensor<std::int64_t>::from({3}, {1, 20, 3});
  CHECK(ints.str() == "tensor([ 1, 20,  3], shape=[3], dtype=int64)");
  std::ostringstream big;
  auto b = Tensor<std::uint8_t>::zeros({2000});
  big << b;
  CHECK(big.str() == "tensor([0, 0, 0, ..., 0, 0, 0], shape=[2000], dtype=uint8)");
  std::ostringstream u;
  u << Tensor<float>();
  CHECK(u.str() == "tensor(undefined)");
}
