// An item transform that cannot take an ImageBlock's items (here it wants float tensors) must not compile.
// expect: item_tfms: this transform cannot take the item type of the DataBlock's input block
#include <fastpp/data.hpp>

using namespace fastpp;

struct FloatOnly {  // works on float tensors, not on Image = Tensor<uint8_t>
  static constexpr int order = 1;
  Tensor<float> operator()(Tensor<float> x, ItemContext&) const { return x; }
  std::string name() const { return "FloatOnly"; }
};
struct Identity {
  static constexpr int order = 1;
  Image operator()(Image x, ItemContext&) const { return x; }
  std::string name() const { return "Identity"; }
};

int main() {
#ifdef FASTPP_SHOULD_FAIL
  auto db = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, RandomSplitter{}, parent_label,
                      item_tfms(FloatOnly{})};
#else
  auto db = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, RandomSplitter{}, parent_label,
                      item_tfms(Identity{})};
#endif
  return static_cast<int>(db.item_steps().size()) - 1;
}
