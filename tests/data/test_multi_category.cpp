// MultiCategoryBlock: several labels per item, fastai's MultiCategorize + OneHotEncode. The DataBlock takes
// it as any other target block (the Block concept), the loader collates its one-hot targets, summary()
// shows it, and a batch trains a linear model one step with the loss the block names (BCE with logits).
#include <catch2/catch.hpp>
#include <fastpp/data.hpp>
#include <fastpp/loss.hpp>
#include <fastpp/nn.hpp>
#include <fastpp/vision/item_transforms.hpp>

#include <algorithm>
#include <cmath>

#include <sstream>

#include "helpers.hpp"

using namespace fastpp;
using namespace fastpp::test;
namespace fs = std::filesystem;

namespace {

// The labels of a file are the words of its stem before the last '_': "cat+dog_3.ppm" -> {"cat", "dog"};
// "none_4.ppm" has none.
struct LabelsFromName {
  std::vector<std::string> operator()(const fs::path& p) const {
    const std::string stem = p.stem().string();
    const std::string words = stem.substr(0, stem.rfind('_'));
    std::vector<std::string> out;
    if (words == "none") return out;
    for (std::size_t at = 0;;) {
      const std::size_t plus = words.find('+', at);
      out.push_back(words.substr(at, plus - at));
      if (plus == std::string::npos) return out;
      at = plus + 1;
    }
  }
  std::string name() const { return "LabelsFromName"; }
};

bool in_valid(const fs::path& p) { return p.parent_path().filename() == "valid"; }

// 6x5 images in <root>/train and <root>/valid, each named by its labels.
void make_multi_tree(const fs::path& root) {
  int seed = 0;
  for (const char* name : {"cat+dog_0", "dog_1", "cat_2", "bird+cat_3", "none_4", "Zebra+dog_5", "bird_6", "cat+dog_7"})
    write_ppm(root / "train" / (std::string(name) + ".ppm"), 6, 5, seed++);
  for (const char* name : {"dog_8", "cat+bird_9", "Zebra_10"}) write_ppm(root / "valid" / (std::string(name) + ".ppm"), 6, 5, seed++);
}

}  // namespace

TEST_CASE("MultiCategoryBlock is a target block with fastai's vocabulary and one-hot targets", "[multi_category]") {
  STATIC_REQUIRE(TargetBlock<MultiCategoryBlock>);
  STATIC_REQUIRE(TargetBlock<CategoryBlock>);
  STATIC_REQUIRE(InputBlock<ImageBlock, fs::path>);
  STATIC_REQUIRE(!InputBlock<ImageBlock, int>);
  STATIC_REQUIRE(!TargetBlock<ImageBlock>);

  const MultiCategoryBlock block;
  const auto vocab = block.setup(L<std::vector<std::string>>{{"dog", "cat"}, {}, {"bird", "Zebra", "cat"}});
  CHECK(vocab.vocab() == L<std::string>{"Zebra", "bird", "cat", "dog"});  // byte order, as Python sorts str
  const MultiCategory m = vocab.encode({"dog", "bird"}, "a.png");
  CHECK(m.indices == std::vector<std::int64_t>{3, 1});
  CHECK(m.one_hot() == std::vector<float>{0, 1, 0, 1});
  CHECK_THROWS_WITH(vocab.encode({"cat", "fish"}, "x/fish_1.png"),
                    Catch::Contains("Label 'fish' was not included in the training dataset") &&
                        Catch::Contains("x/fish_1.png"));
  CHECK(MultiCategoryBlock{.vocab = {"b", "a"}}.setup({}).vocab() == L<std::string>{"b", "a"});

  const auto y = block.collate({m, vocab.encode({}, "none"), vocab.encode({"Zebra", "cat", "dog"}, "z")});
  REQUIRE(y.shape() == Shape{3, 4});
  CHECK(std::vector<float>(y.data(), y.data() + 12) == std::vector<float>{0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 1});
  CHECK(block.captions(y, vocab.vocab()) == std::vector<std::string>{"bird;dog", "", "Zebra;cat;dog"});
}

TEST_CASE("a DataBlock of MultiCategoryBlock loads one-hot float targets [N, n_classes]", "[multi_category]") {
  TempDir t;
  make_multi_tree(t.path());
  auto db = DataBlock{Blocks{ImageBlock{.load = load_netpbm}, MultiCategoryBlock{}}, get_image_files,
                      FuncSplitter{in_valid}, LabelsFromName{}, item_tfms(Resize{4})};
  STATIC_REQUIRE(std::is_same_v<decltype(db)::y_type, MultiCategory>);
  auto dls = db.dataloaders(t.path(), {.bs = 3, .shuffle = false, .num_workers = 1});
  CHECK(dls.vocab == L<std::string>{"Zebra", "bird", "cat", "dog"});
  CHECK(dls.c == 4);
  const auto b = dls.one_batch();
  STATIC_REQUIRE(std::is_same_v<decltype(b.y), Tensor<float, cpu>>);
  REQUIRE(b.x.shape() == Shape{3, 4, 4, 3});
  REQUIRE(b.y.shape() == Shape{3, 4});
  // Each row is the one-hot of its file's labels.
  const auto items = dls.train.items();
  const auto captions = dls.labels(b);
  for (std::int64_t i = 0; i < 3; ++i) {
    const auto labels = LabelsFromName{}(items[b.idxs[static_cast<std::size_t>(i)]]);
    std::string expected;
    for (std::int64_t k = 0; k < 4; ++k) {
      const bool has = std::find(labels.begin(), labels.end(), dls.vocab[k]) != labels.end();
      CHECK(b.y.data()[i * 4 + k] == (has ? 1.0f : 0.0f));
      if (has) expected += (expected.empty() ? "" : ";") + dls.vocab[k];
    }
    CHECK(captions[static_cast<std::size_t>(i)] == expected);
  }
  // The valid loader keeps its last, smaller batch: 3 items, one batch of 3.
  std::int64_t seen = 0;
  for (const auto& vb : dls.valid) seen += vb.y.size(0);
  CHECK(seen == 3);

  // A validation label the training split never had is an error naming the file, before any batch.
  write_ppm(t / "valid/fish_11.ppm", 6, 5, 99);
  CHECK_THROWS_WITH(db.dataloaders(t.path()), Catch::Contains("'fish'") && Catch::Contains("fish_11.ppm"));
}

TEST_CASE("summary() of a MultiCategoryBlock DataBlock shows its labels, targets and batch", "[multi_category][summary]") {
  TempDir t;
  make_multi_tree(t.path());
  auto db = DataBlock{Blocks{ImageBlock{.load = load_netpbm}, MultiCategoryBlock{}}, get_image_files,
                      FuncSplitter{in_valid}, LabelsFromName{}, item_tfms(Resize{4})};
  std::ostringstream os;
  db.summary(t.path(), os);
  const std::string s = os.str();
  INFO(s);
  for (const char* line :
       {"Found 11 items", "2 datasets of sizes 8,3",
        "Setting up Pipeline: LabelsFromName -> MultiCategorize -- {'add_na': False} -> OneHotEncode",
        "Vocabulary (4 classes): (#4) ['Zebra','bird','cat','dog']", "applying LabelsFromName gives\n      ['Zebra', 'dog']",
        "gives\n      MultiCategory(['Zebra', 'dog'] of 4 classes)",
        "Final sample: (Image of size 6x5x3 (uint8 HWC), MultiCategory(['Zebra', 'dog'] of 4 classes))",
        "(Image of size 4x4x3 (uint8 HWC), MultiCategory(['Zebra', 'dog'] of 4 classes))",
        "starting from\n      (Tensor<uint8> of size 4x4x4x3, Tensor<float32> of size 4x4)",
        "applying IntToFloat -- {'div': 255.0} gives\n      (Tensor<float32> of size 4x4x4x3, Tensor<float32> of size 4x4)"})
    CHECK_THAT(s, Catch::Contains(line));
}

TEST_CASE("a MultiCategoryBlock batch trains a linear model one step with BCEWithLogitsLossFlat", "[multi_category]") {
  TempDir t;
  make_multi_tree(t.path());
  auto db = DataBlock{Blocks{ImageBlock{.load = load_netpbm}, MultiCategoryBlock{}}, get_image_files,
                      FuncSplitter{in_valid}, LabelsFromName{}, item_tfms(Resize{4})};
  auto dls = db.dataloaders(t.path(), {.bs = 8, .num_workers = 0, .drop_last = false});
  const auto b = dls.one_batch();
  REQUIRE(b.x.shape() == Shape{8, 4, 4, 3});
  constexpr std::int64_t features = 4 * 4 * 3, classes = 4;
  REQUIRE(dls.c == classes);

  // The block names its loss; the loss side turns the name into the object.
  using Loss = default_loss_t<decltype(db)::y_type>;
  STATIC_REQUIRE(std::is_same_v<Loss, BCEWithLogitsLossFlat>);
  const Loss loss;
  nn::Linear<features, classes> model;
  auto ctx = nn::Ctx::train(0);
  const Tensor<float> x = b.x.reshape({8, features});  // flatten each image to one row

  auto out = loss(model.forward(ctx, x), b.y);
  const double before = out.item();
  model.for_each_param([](const std::string&, auto& p) { p.zero_grad(); });
  (void)model.backward(ctx, out.backward());
  const float lr = 0.5f;
  double grad_norm = 0;
  model.for_each_param([&](const std::string&, auto& p) {
    for (std::int64_t i = 0; i < p.value.numel(); ++i) {
      grad_norm += static_cast<double>(p.grad.data()[i]) * p.grad.data()[i];
      p.value.data()[i] -= lr * p.grad.data()[i];
    }
  });
  REQUIRE(grad_norm > 0);  // the targets reached the gradient
  const double after = loss(model.forward(ctx, x), b.y).item();
  INFO("loss before " << before << ", after one SGD step " << after);
  CHECK(std::isfinite(before));
  CHECK(after < before);
}
