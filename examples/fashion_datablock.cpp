// The chapter's data recipe on real files: the Fashion-MNIST folder written by export_fashion_mnist.
//   fashion_datablock [folder = data/fashion] [out = fashion_batch.svg]
// Prints summary() for one item and one batch, the vocabulary, the shape of a batch, and writes a grid
// of augmented training images with their labels (open the SVG in a browser).
#include <fastpp/vision.hpp>
#include <iostream>

using namespace fastpp;

int main(int argc, char** argv) {
  const std::filesystem::path folder = argc > 1 ? argv[1] : "data/fashion";
  const std::filesystem::path out = argc > 2 ? argv[2] : "fashion_batch.svg";
  try {
    auto fashion = DataBlock{blocks<ImageBlock, CategoryBlock>,
                             get_image_files,
                             GrandparentSplitter{},
                             using_attr(RegexLabeller{R"((.+)_\d+.png$)"}, file_name),
                             item_tfms(Resize{64}),
                             batch_tfms(aug_transforms({.size = 48, .min_scale = 0.75}),
                                        Normalize::from_stats(imagenet_stats))};
    fashion.summary(folder, std::cout);
    auto dls = fashion.dataloaders(folder, {.bs = 64});
    std::cout << "\nvocab: " << dls.vocab << "\nc = " << dls.c << "\n";
    auto batch = dls.one_batch();
    std::cout << "one batch: x " << batch.x.shape() << " float (NHWC), y " << batch.y.shape() << " int64\n";
    show_batch(dls, out, {.max_n = 16});
    std::cout << "wrote " << out.string() << "\n";
  } catch (const Error& e) {
    std::cerr << "fashion_datablock: " << e.what() << "\n";
    return 1;
  }
}
