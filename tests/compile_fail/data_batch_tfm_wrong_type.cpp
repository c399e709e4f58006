// A transform whose batches are not the block's (here double batches, where an ImageBlock gives float ones)
// given to batch_tfms must not compile. (An item transform there gets its own message:
// data_resize_in_batch_tfms.cpp.)
// expect: batch_tfms: this transform cannot take a batch
#include <fastpp/data.hpp>

using namespace fastpp;

struct DoubleOnly {
  static constexpr int order = 50;
  Tensor<double> operator()(Tensor<double> b, BatchContext&) const { return b; }
  std::string name() const { return "DoubleOnly"; }
};
struct Halve {
  static constexpr int order = 50;
  Tensor<float> operator()(Tensor<float> b, BatchContext&) const { return b; }
  std::string name() const { return "Halve"; }
};

int main() {
#ifdef FASTPP_SHOULD_FAIL
  auto db = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, RandomSplitter{}, parent_label,
                      batch_tfms(DoubleOnly{})};
#else
  auto db = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, RandomSplitter{}, parent_label,
                      batch_tfms(Halve{})};
#endif
  return static_cast<int>(db.batch_steps().size()) - 1;
}
