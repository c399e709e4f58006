// make_model chooses among several architectures by name, in fastai's and in torchvision's form.
#include <catch2/catch.hpp>
#include <fastpp/models.hpp>

#include "formula.hpp"

using namespace fastpp;
using namespace fastpp::models;
using formula_fixture::formula_input;

TEST_CASE("make_model chooses among the listed architectures by name", "[models]") {
  using list = archs<resnet34, resnet50>;
  auto tv = make_model<list>("torchvision_resnet50", 3, 1);
  CHECK(tv.name() == "torchvision_resnet50");
  CHECK(tv.as<FastaiModel<resnet50>>() == nullptr);
  auto ctx = nn::Ctx::eval();
  CHECK(tv.forward(ctx, formula_input(1, 3, 32, 32)).shape() == Shape{1, 3});
  auto fa = make_model<list>("resnet34", 5, 1);
  CHECK(fa.as<FastaiModel<resnet34>>() != nullptr);
  CHECK(fa.out_shape(Shape{2, 64, 64, 3}) == Shape{2, 5});
  CHECK_THROWS_WITH(make_model<list>("resnet18", 5),
                    Catch::Contains("known: resnet34 torchvision_resnet34 resnet50 torchvision_resnet50"));
}
