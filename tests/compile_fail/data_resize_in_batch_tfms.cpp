// Resize is an item transform: given to batch_tfms it must not compile, and the message must say where it
// belongs (the general message only described the signature).
// expect: batch_tfms: this is an item transform (it takes one Image and an ItemContext, as Resize and RandomResizedCrop do: images are resized one by one, before they are collated): move it to item_tfms(...)
// expect-errors: 1
#include <fastpp/data.hpp>
#include <fastpp/vision.hpp>

using namespace fastpp;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  auto db = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, RandomSplitter{}, parent_label,
                      batch_tfms(Resize{224}, Normalize::from_stats(imagenet_stats))};
#else
  auto db = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, RandomSplitter{}, parent_label,
                      item_tfms(Resize{224}), batch_tfms(Normalize::from_stats(imagenet_stats))};
#endif
  return static_cast<int>(db.batch_steps().size()) - 1;
}
