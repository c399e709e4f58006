// AnyModel: the architecture chosen at run time.
#include <fastpp/core/ops.hpp>
#include <fastpp/models.hpp>

#include "formula.hpp"

using namespace fastpp;
using namespace fastpp::models;
using formula_fixture::formula_input;

// Only resnet18 is compiled here (make_model compiles every listed architecture where it is called);
// test_any_model_resnet50.cpp covers choosing among several.
TEST_CASE("AnyModel picks the architecture at run time and keeps the typed model", "[models]") {
  auto m = make_model<archs<resnet18>>("resnet18", 4, 1);
  CHECK(m.name() == "resnet18");
  CHECK(m.as<FastaiModel<resnet18>>() != nullptr);
  CHECK(m.as<FastaiModel<resnet34>>() == nullptr);
  auto ctx = nn::Ctx::train(1);
  const auto y = m.forward(ctx, formula_input(2, 3, 32, 32));
  CHECK(y.shape() == Shape{2, 4});
  CHECK(m.backward(ctx, Tensor<float>::full(y.shape(), 1.0f)).shape() == Shape{2, 32, 32, 3});
  CHECK(m.out_shape(Shape{2, 64, 64, 3}) == Shape{2, 4});
  CHECK(nn::count_params(m) == nn::count_params(*m.as<FastaiModel<resnet18>>()));
  CHECK(models::state_dict(m).tensors.count("0.4.1.bn2.num_batches_tracked") == 1);
  CHECK_THROWS_WITH(make_model<archs<resnet18>>("resnet19", 4),
                    Catch::Contains("resnet19") && Catch::Contains("known: resnet18 torchvision_resnet18"));
  CHECK_THROWS_WITH(make_model<archs<resnet18>>("resnet18", 0),
                    Catch::Contains("Linear<512, dyn>") && Catch::Contains("number of classes"));
}
