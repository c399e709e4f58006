// State dicts: PyTorch layouts, strict and non-strict loading, errors by name.
#include <catch2/catch.hpp>

#include <fastpp/models/state_dict.hpp>
#include <fastpp/nn.hpp>

using namespace fastpp;
using namespace fastpp::nn;
using namespace fastpp::models;

using Small = Sequential<Conv2d<2, 3, ConvOpts{.kernel = 3, .bias = false}>, BatchNorm2d<3>, ReLU, AdaptiveAvgPool2d<1>,
                         Flatten, Linear<3, 4>>;

TEST_CASE("state_dict uses PyTorch's names and layouts", "[nn][state_dict]") {
  Small net(Build{Rng(3), dyn});
  const auto st = state_dict(net);
  std::vector<std::string> keys;
  for (const auto& [k, t] : st.tensors) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean", "1.running_var",
                                         "1.weight", "5.bias", "5.weight"});
  CHECK(st.tensors.at("0.weight").shape == std::vector<std::int64_t>{3, 2, 3, 3});  // OIHW
  CHECK(st.tensors.at("1.num_batches_tracked").dtype == io::StDtype::I64);
  CHECK(st.tensors.at("1.num_batches_tracked").shape.empty());
  // OHWI [o, y, x, c] is OIHW [o, c, y, x]
  const auto& w = net.get<0>().weight.value;
  CHECK(st.tensors.at("0.weight").at(((2 * 2 + 1) * 3 + 2) * 3 + 0) == w(2, 2, 0, 1));
  // and back, through a file, in half precision
  Small other(Build{Rng(4), dyn});
  auto half = state_dict(net, io::StDtype::F16);
  half.tensors["1.num_batches_tracked"] = io::StTensor::scalar_i64(9);
  const auto r = load_state_dict(other, half);
  CHECK(r.loaded.size() == 8);
  CHECK(other.get<0>().weight.value(1, 2, 0, 1) == Approx(w(1, 2, 0, 1)).epsilon(1e-3));
  CHECK(other.get<1>().num_batches_tracked == 9);
}

TEST_CASE("load_state_dict reports missing and unexpected keys by name", "[nn][state_dict]") {
  Small net;
  auto st = state_dict(net);
  st.tensors.erase("5.bias");
  st.tensors["extra.weight"] = st.tensors.at("5.weight");
  CHECK_THROWS_WITH(load_state_dict(net, st),
                    Catch::Contains("missing keys: 5.bias") && Catch::Contains("unexpected keys: extra.weight"));
  LoadOptions loose;
  loose.strict = false;
  const auto r = load_state_dict(net, st, loose);
  CHECK(r.missing == std::vector<std::string>{"5.bias"});
  CHECK(r.unexpected == std::vector<std::string>{"extra.weight"});
  auto bad = state_dict(net);
  const float v[12] = {};
  bad.tensors["5.weight"] = io::StTensor::from_floats(v, {3, 4});
  CHECK_THROWS_WITH(load_state_dict(net, bad), Catch::Contains("\"5.weight\"") && Catch::Contains("[3, 4]") &&
                                                   Catch::Contains("[4, 3]"));
}
