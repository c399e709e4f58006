// Normalize is a batch transform: given to item_tfms it must not compile, and the message must say where it
// belongs (the general message only described the signature).
// expect: item_tfms: this is a batch transform (it takes a batch Tensor<float>[N,H,W,C] and a BatchContext, as Normalize and aug_transforms do): move it to batch_tfms(...)
// expect-errors: 1
#include <fastpp/data.hpp>
#include <fastpp/vision.hpp>

using namespace fastpp;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  auto db = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, RandomSplitter{}, parent_label,
                      item_tfms(Resize{224}, Normalize::from_stats(imagenet_stats))};
#else
  auto db = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, RandomSplitter{}, parent_label,
                      item_tfms(Resize{224}), batch_tfms(Normalize::from_stats(imagenet_stats))};
#endif
  return static_cast<int>(db.item_steps().size()) - 1;
}
