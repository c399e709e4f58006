// An item transform given to batch_tfms must not compile: batch transforms take NHWC float batches.
// expect: batch_tfms: this transform cannot take a batch
#include <fastpp/data.hpp>

using namespace fastpp;

struct Identity {
  static constexpr int order = 1;
  Image operator()(Image x, ItemContext&) const { return x; }
  std::string name() const { return "Identity"; }
};
struct Halve {
  static constexpr int order = 50;
  Tensor<float> operator()(Tensor<float> b, BatchContext&) const { return b; }
  std::string name() const { return "Halve"; }
};

int main() {
#ifdef FASTPP_SHOULD_FAIL
  auto db = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, RandomSplitter{}, parent_label,
                      batch_tfms(Identity{})};
#else
  auto db = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, RandomSplitter{}, parent_label,
                      batch_tfms(Halve{})};
#endif
  return static_cast<int>(db.batch_steps().size()) - 1;
}
