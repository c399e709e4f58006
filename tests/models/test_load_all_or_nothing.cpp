// Issue 18: loading weights is all-or-nothing. Every refused load (a shape mismatch in a later tensor, a
// missing or unexpected key in strict mode, integer data for a float parameter, NaN/Inf values, a tensor
// whose bytes do not match its shape) leaves the model bit-identical; a folder or a FIFO given as the
// weights file is an IoError naming the path.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <future>
#include <limits>

#include <fastpp/models/state_dict.hpp>
#include <fastpp/nn.hpp>

using namespace fastpp;
using namespace fastpp::nn;
using namespace fastpp::models;

namespace {

using Small = Sequential<Conv2d<2, 3, ConvOpts{.kernel = 3, .bias = false}>, BatchNorm2d<3>, ReLU, AdaptiveAvgPool2d<1>,
                         Flatten, Linear<3, 4>>;

// Every parameter and buffer, as the bytes of a safetensors file.
std::vector<std::uint8_t> snapshot(Small& net) { return io::serialize_safetensors(state_dict(net)); }

// A state dict from another model (so every value differs from `net`'s), which `edit` then spoils.
template <class Edit>
void expect_refused_unchanged(const std::string& what, Edit edit, const std::string& reason) {
  Small net(Build{Rng(1), dyn});
  Small donor(Build{Rng(2), dyn});
  io::SafeTensors st = state_dict(donor);
  st.tensors["1.num_batches_tracked"] = io::StTensor::scalar_i64(7);
  edit(st);
  const auto before = snapshot(net);
  INFO(what);
  try {
    load_state_dict(net, st);
    FAIL("the load was accepted, but it must be refused: " << reason);
  } catch (const Error& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains(reason));
  }
  CHECK(snapshot(net) == before);
  CHECK(net.get<1>().num_batches_tracked == 0);
}

std::filesystem::path scratch() {
  const auto dir = std::filesystem::temp_directory_path() / ("fastpp_harden_models_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("a refused load leaves every parameter and buffer as it was", "[nn][state_dict][bad_files]") {
  // "5.weight" is visited after the convolution and the batch norm: those were overwritten before.
  expect_refused_unchanged("shape mismatch in a later tensor", [](io::SafeTensors& st) {
    const float v[12] = {};
    st.tensors["5.weight"] = io::StTensor::from_floats(v, {3, 4});
  }, "\"5.weight\" has shape [3, 4]");
  expect_refused_unchanged("missing key", [](io::SafeTensors& st) { st.tensors.erase("5.bias"); },
                           "missing keys: 5.bias");
  // With an unexpected key every weight had been loaded before the error.
  expect_refused_unchanged("unexpected key", [](io::SafeTensors& st) {
    st.tensors["extra.weight"] = st.tensors.at("5.weight");
  }, "unexpected keys: extra.weight");
  expect_refused_unchanged("bytes that do not match the shape", [](io::SafeTensors& st) {
    st.tensors.at("5.bias").bytes.resize(6);
  }, "\"5.bias\" holds 6 bytes");
}

TEST_CASE("integer data for a float parameter is refused, naming the tensor and the dtype", "[nn][state_dict][bad_files]") {
  expect_refused_unchanged("I64 weights", [](io::SafeTensors& st) {
    const float v[4] = {1, 2, 3, 4};
    st.tensors["5.bias"] = io::StTensor::from_floats(v, {4}, io::StDtype::I64);
  }, "\"5.bias\" holds integer data (I64)");
}

TEST_CASE("NaN and Inf weights are reported by count and name, and refused unless allowed", "[nn][state_dict][bad_files]") {
  auto spoil = [](io::SafeTensors& st) {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    const float bias[4] = {0.5f, nan, inf, 1.0f};
    st.tensors["5.bias"] = io::StTensor::from_floats(bias, {4});
    std::vector<float> w(54, 0.25f);
    w[3] = -inf;
    st.tensors["0.weight"] = io::StTensor::from_floats(w.data(), {3, 2, 3, 3});
  };
  expect_refused_unchanged("NaN/Inf", spoil, "3 values are NaN or infinite");
  expect_refused_unchanged("NaN/Inf names", spoil, "0.weight (1), 5.bias (2)");
  // F64 beyond float's range would load as infinity.
  expect_refused_unchanged("F64 overflow", [](io::SafeTensors& st) {
    io::StTensor t;
    t.dtype = io::StDtype::F64;
    t.shape = {4};
    const double v[4] = {0.5, 1e300, 0.25, 0.125};
    t.bytes.resize(sizeof v);
    std::memcpy(t.bytes.data(), v, sizeof v);
    st.tensors["5.bias"] = t;
  }, "1 value is NaN or infinite (as float32), in 1 tensor: 5.bias (1)");

  Small net(Build{Rng(1), dyn});
  io::SafeTensors st = state_dict(net);
  spoil(st);
  LoadOptions allow;
  allow.allow_non_finite = true;
  const LoadReport r = load_state_dict(net, st, allow);
  CHECK(r.non_finite == std::vector<std::string>{"0.weight", "5.bias"});
  CHECK(std::isnan(net.get<5>().bias.value.data()[1]));
  CHECK(std::isinf(net.get<5>().bias.value.data()[2]));
}

TEST_CASE("a folder or a FIFO given as the weights file is fastpp's IoError naming the path", "[nn][state_dict][bad_files]") {
  const auto dir = scratch();
  Small net;
  const auto before = snapshot(net);
  try {
    load_safetensors(net, dir);
    FAIL("a folder was loaded as weights");
  } catch (const IoError& e) {
    CHECK(e.path() == dir.string());
    CHECK_THAT(std::string(e.what()), Catch::Contains("folder"));
  }
  const auto fifo = dir / "weights.safetensors";
  std::filesystem::remove(fifo);
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto result = std::async(std::launch::async, [&]() -> std::string {
    try {
      load_safetensors(net, fifo);
    } catch (const IoError& e) {
      return e.what();
    }
    return "(loaded)";
  });
  const bool finished = result.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  if (!finished) {
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
  }
  const std::string what = result.get();
  std::filesystem::remove_all(dir);
  CHECK(finished);
  CHECK_THAT(what, Catch::Contains("FIFO") && Catch::Contains(fifo.string()));
  CHECK(snapshot(net) == before);
}
