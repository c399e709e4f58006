// `std::cout << tensor` compiles wherever Tensor is visible: this TU includes only the umbrella headers a
// training program starts with (vision, models, loss), not core.hpp, which alone brought the printer.
#include <catch2/catch.hpp>
#include <fastpp/loss.hpp>
#include <fastpp/models.hpp>
#include <fastpp/vision.hpp>

#include <sstream>

TEST_CASE("a tensor prints after including vision.hpp, models.hpp and loss.hpp only", "[vision][print]") {
  const auto x = fastpp::Tensor<float>::from({2, 3}, {1, 2, 3, 4, 5, 6});
  std::ostringstream os;
  os << x;
  CHECK(os.str() == "tensor([[1.0000, 2.0000, 3.0000],\n        [4.0000, 5.0000, 6.0000]], shape=[2, 3], dtype=float32)");
  std::ostringstream img;
  img << fastpp::Image::zeros({1, 1, 3});
  CHECK(img.str() == "tensor([[[0, 0, 0]]], shape=[1, 1, 3], dtype=uint8)");
}
