// An item transform called on a label (here Resize on a CategoryBlock's Category) must not compile, and
// must say that it takes the image and labels stay as they are (it said "no match for call").
// expect: Resize is an item transform for images: it takes an Image
// expect-errors: 1
#include <fastpp/data.hpp>
#include <fastpp/vision.hpp>

using namespace fastpp;

int main() {
  ItemContext ctx;
  Image img = Image::zeros({8, 8, 3});
  Category label{};
  (void)label;
#ifdef FASTPP_SHOULD_FAIL
  auto out = Resize{4}(label, ctx);
#else
  auto out = Resize{4}(img, ctx);
#endif
  return static_cast<int>(out.size(0)) - 4;
}
