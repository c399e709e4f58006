// .safetensors: round trips in every dtype, and malformed files rejected with a message naming the
// problem (never a read past the end).
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fastpp/io/safetensors.hpp>
#include <string>
#include <unistd.h>

using namespace fastpp;
using namespace fastpp::io;

namespace {

std::vector<std::uint8_t> file_with_header(const std::string& header, std::size_t data_bytes) {
  std::vector<std::uint8_t> f(8 + header.size() + data_bytes, 0);
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) f[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
  std::memcpy(f.data() + 8, header.data(), header.size());
  for (std::size_t i = 0; i < data_bytes; ++i) f[8 + header.size() + i] = static_cast<std::uint8_t>(i);
  return f;
}
std::string error_of(const std::vector<std::uint8_t>& bytes) {
  try {
    parse_safetensors(bytes, "test.safetensors");
  } catch (const FormatError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("safetensors round trip: every dtype, scalars, empty tensors, metadata", "[io][safetensors]") {
  SafeTensors st;
  const float vals[] = {1.5f, -2.25f, 3.0f, 0.1f, -0.0f, 65504.0f};
  st.tensors["a.f32"] = StTensor::from_floats(vals, {2, 3}, StDtype::F32);
  st.tensors["b.f16"] = StTensor::from_floats(vals, {6}, StDtype::F16);
  st.tensors["c.bf16"] = StTensor::from_floats(vals, {3, 2}, StDtype::BF16);
  st.tensors["d.f64"] = StTensor::from_floats(vals, {1, 6}, StDtype::F64);
  st.tensors["e.count"] = StTensor::scalar_i64(123456789012345);
  st.tensors["f.empty"] = StTensor::from_floats(vals, {0, 4}, StDtype::F32);
  st.metadata["arch"] = "resnet34 \"quoted\" \\ \n";
  const auto bytes = serialize_safetensors(st);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<std::size_t>(i)];
  CHECK(n % 8 == 0);  // data aligned
  const auto back = parse_safetensors(bytes);
  REQUIRE(back.tensors.size() == st.tensors.size());
  CHECK(back.metadata == st.metadata);
  for (const auto& [k, t] : st.tensors) {
    const auto& u = back.tensors.at(k);
    CHECK(u.dtype == t.dtype);
    CHECK(u.shape == t.shape);
    CHECK(u.bytes == t.bytes);
  }
  CHECK(back.tensors.at("a.f32").at(1) == -2.25);
  CHECK(back.tensors.at("b.f16").at(5) == 65504.0);
  CHECK(back.tensors.at("c.bf16").at(3) == Approx(0.1).epsilon(0.01));
  CHECK(back.tensors.at("e.count").shape.empty());
  CHECK(back.tensors.at("e.count").at(0) == 123456789012345.0);
  CHECK(back.tensors.at("f.empty").numel() == 0);
  CHECK(back.tensors.at("a.f32").to_float().shape() == Shape{2, 3});

  const auto path = std::filesystem::temp_directory_path() / ("fastpp_st_" + std::to_string(::getpid()) + ".safetensors");
  write_safetensors(path, st);
  CHECK(read_safetensors(path).tensors.at("d.f64").at(2) == 3.0);
  std::filesystem::remove(path);
  CHECK_THROWS_AS(read_safetensors(path), IoError);
}

TEST_CASE("safetensors reads a file written by PyTorch's side (hand-written writer)", "[io][safetensors]") {
  const auto st = read_safetensors(std::string(FASTPP_TEST_DATA_DIR) + "/fixtures/nn/linear.safetensors");
  CHECK(st.tensors.at("p.weight").shape == std::vector<std::int64_t>{5, 7});
  CHECK(st.tensors.at("p.weight").dtype == StDtype::F64);
  CHECK(st.metadata.at("case") == "linear");
}

TEST_CASE("malformed safetensors files are errors that name the problem", "[io][safetensors]") {
  const std::string good = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  CHECK(error_of(file_with_header(good, 8)) == "no error");
  CHECK_THAT(error_of({1, 2, 3}), Catch::Contains("fewer than the 8-byte header length"));
  auto truncated = file_with_header(good, 8);
  truncated.resize(20);
  CHECK_THAT(error_of(truncated), Catch::Contains("truncated"));
  CHECK_THAT(error_of(file_with_header(good, 4)), Catch::Contains("outside the 4 data bytes"));
  CHECK_THAT(error_of(file_with_header(good, 12)), Catch::Contains("cover 8 data bytes but the file holds 12"));
  CHECK_THAT(error_of(file_with_header(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)),
             Catch::Contains("needs 12 bytes"));
  CHECK_THAT(error_of(file_with_header(R"({"t":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", 8)),
             Catch::Contains("F8_E4M3"));
  CHECK_THAT(error_of(file_with_header(
                 R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)),
             Catch::Contains("overlaps"));
  CHECK_THAT(error_of(file_with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)),
             Catch::Contains("hole"));
  CHECK_THAT(error_of(file_with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"t":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}})", 8)),
             Catch::Contains("duplicate key \"t\""));
  CHECK_THAT(error_of(file_with_header(R"({"t":{"dtype":"F32","shape":[2]}})", 8)), Catch::Contains("lacks"));
  CHECK_THAT(error_of(file_with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", 8)),
             Catch::Contains("unexpected or repeated field \"x\""));
  CHECK_THAT(error_of(file_with_header(R"({"t":{"dtype":"F32","shape":[02],"data_offsets":[0,8]}})", 8)),
             Catch::Contains("leading zero"));
  CHECK_THAT(error_of(file_with_header(R"({"t":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", 8)),
             Catch::Contains("fraction"));
  CHECK_THAT(error_of(file_with_header(R"({"t":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}})", 8)),
             Catch::Contains("too large"));
  CHECK_THAT(error_of(file_with_header(R"({"t":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,8]}})", 8)),
             Catch::Contains("too large"));
  CHECK_THAT(error_of(file_with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} x)", 8)),
             Catch::Contains("after the header"));
  CHECK_THAT(error_of(file_with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},})", 8)),
             Catch::Contains("expected a string"));
  CHECK_THAT(error_of(file_with_header(R"({"__metadata__":{"k":"\ud800"},"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8)),
             Catch::Contains("surrogate"));
  CHECK_THAT(error_of(file_with_header(R"({"__metadata__":{"k":1}})", 0)), Catch::Contains("expected a string"));
  CHECK_THAT(error_of(file_with_header("[1,2]", 0)), Catch::Contains("must be a JSON object"));
  CHECK_THAT(error_of(file_with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8)", 8)), Catch::Contains("header"));
  // The error names the file.
  CHECK_THAT(error_of({1, 2, 3}), Catch::Contains("test.safetensors"));
}

TEST_CASE("every truncation of a valid file is rejected cleanly", "[io][safetensors]") {
  SafeTensors st;
  const float vals[] = {1, 2, 3, 4};
  st.tensors["w"] = StTensor::from_floats(vals, {2, 2});
  st.tensors["n"] = StTensor::scalar_i64(7);
  st.metadata["m"] = "\xc3\xa9t\xc3\xa9";
  const auto bytes = serialize_safetensors(st);
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    const std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len));
    CHECK_THROWS_AS(parse_safetensors(cut), FormatError);
  }
  // and a flipped byte anywhere in the header is either rejected or still describes in-bounds data
  for (std::size_t i = 8; i < bytes.size(); ++i) {
    auto bad = bytes;
    bad[i] ^= 0x5a;
    try {
      const auto r = parse_safetensors(bad);
      for (const auto& [k, t] : r.tensors) CHECK(t.bytes.size() == static_cast<std::size_t>(t.numel()) * st_dtype_size(t.dtype));
    } catch (const FormatError&) {
    }
  }
}
