#include <catch2/catch.hpp>
#include <fastpp/data.hpp>

#include <sstream>

#include "helpers.hpp"
#include "test_tfms.hpp"

using namespace fastpp;
using namespace fastpp::test;

TEST_CASE("DataBlock reads like fastai's and takes its types from the blocks", "[datablock]") {
  auto db = DataBlock{blocks<ImageBlock, CategoryBlock>,
                      get_image_files,
                      RandomSplitter{.valid_pct = 0.2, .seed = 42},
                      using_attr(RegexLabeller{R"((.+)_\d+.jpg$)"}, file_name),
                      item_tfms(CropTo{8}),
                      batch_tfms(Scale{}, Jitter{})};
  STATIC_REQUIRE(std::is_same_v<decltype(db)::x_type, Image>);
  STATIC_REQUIRE(std::is_same_v<decltype(db)::y_type, Category>);
  // Batch transforms run sorted by order (stable), as a fastai Pipeline.
  REQUIRE(db.batch_steps().size() == 2);
  CHECK(db.batch_steps()[0].name == "Jitter");
  CHECK(db.batch_steps()[1].name == "Scale");
  CHECK(pipeline_repr(db.item_steps()) == "CropTo -- {'size': 8}");
  // A tuple or a vector of transforms counts as its elements.
  auto db2 = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, GrandparentSplitter{}, parent_label,
                       batch_tfms(std::tuple{Scale{3.0f}, Jitter{}}, std::vector<Scale>{Scale{}, Scale{}})};
  CHECK(pipeline_repr(db2.batch_steps()) == "Jitter -> Scale -> Scale -> Scale");
  CHECK(db2.item_steps().empty());
}

TEST_CASE("DataBlock::datasets: items, split, labels, vocabulary from the training split", "[datablock]") {
  TempDir t;
  const int n = make_tree(t.path());
  auto db = DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label()};
  auto ds = db.datasets(t.path());
  CHECK(ds.items.size() == n);
  CHECK(ds.splits.train.size() == 24);
  CHECK(ds.splits.valid.size() == 9);
  CHECK(ds.vocab.vocab() == L<std::string>{"Bag", "Sandal", "ankle_boot"});  // byte order
  CHECK(ds.labels[static_cast<std::size_t>(ds.splits.valid[0])] == "Bag");
}

TEST_CASE("a validation label missing from the training labels is an error naming the item", "[datablock]") {
  TempDir t;
  make_tree(t.path());
  write_ppm(t / "valid/Shirt/Shirt_0.ppm", 10, 10, 7);
  auto db = DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label()};
  CHECK_THROWS_WITH(db.datasets(t.path()), Catch::Contains("Label 'Shirt' was not included in the training dataset") &&
                                               Catch::Contains("valid/Shirt/Shirt_0.ppm") &&
                                               Catch::Contains("CategoryBlock{.vocab"));
  CHECK_THROWS_WITH(db.dataloaders(t.path(), {.num_workers = 0}), Catch::Contains("Shirt_0.ppm"));
  // With the vocabulary given, the same data loads.
  auto db2 = DataBlock{Blocks{ppm_block(), CategoryBlock{.vocab = {"Bag", "Sandal", "Shirt", "ankle_boot"}}},
                       get_image_files, GrandparentSplitter{}, regex_label()};
  CHECK(db2.datasets(t.path()).vocab.size() == 4);
}

TEST_CASE("a file the labeller cannot read is an error naming the file and the pattern", "[datablock]") {
  TempDir t;
  make_tree(t.path());
  write_ppm(t / "train/Bag/photo.ppm", 10, 10, 1);
  auto db = DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label()};
  CHECK_THROWS_WITH(db.datasets(t.path()), Catch::Contains("train/Bag/photo.ppm") &&
                                               Catch::Contains("Failed to find \"(.+)_\\d+.ppm$\" in \"photo.ppm\""));
}

TEST_CASE("an empty folder or an empty training split is a clear error", "[datablock]") {
  TempDir t;
  std::filesystem::create_directories(t / "empty/sub");
  auto db = DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label()};
  CHECK_THROWS_WITH(db.datasets(t / "empty"), Catch::Contains("get_image_files found no items in") &&
                                                  Catch::Contains((t / "empty").generic_string()));
  std::ostringstream os;
  CHECK_THROWS(db.summary(t / "empty", os));
  CHECK_THAT(os.str(), Catch::Contains("applying get_image_files failed") && Catch::Contains("found no items"));
  write_ppm(t / "flat/Bag_1.ppm", 10, 10, 1);
  CHECK_THROWS_WITH(db.datasets(t / "flat"), Catch::Contains("training split is empty") &&
                                                 Catch::Contains("GrandparentSplitter"));
}

TEST_CASE("summary shows every step for one item and one batch", "[datablock][summary]") {
  TempDir t;
  make_tree(t.path());
  auto db = DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label(),
                      item_tfms(CropTo{8}), batch_tfms(Jitter{})};
  std::ostringstream os;
  db.summary(t.path(), os);
  const std::string s = os.str();
  INFO(s);
  for (const char* line :
       {"Collecting items from", "Found 33 items", "2 datasets of sizes 24,9", "Setting up Pipeline: ImageBlock.load",
        "Building one sample", "starting from\n      Path('", "/train/Bag/Bag_0.ppm')",
        "applying ImageBlock.load gives\n      Image of size 10x10x3 (uint8 HWC)",
        "applying using_attr(RegexLabeller -- {'pat': '(.+)_\\d+.ppm$', 'match': False}, file_name) gives\n      Bag",
        "gives\n      Category(0, 'Bag')", "Final sample: (Image of size 10x10x3 (uint8 HWC), Category(0, 'Bag'))",
        "Setting up after_item: Pipeline: CropTo -- {'size': 8}", "Applying item_tfms to the first sample:",
        "applying CropTo -- {'size': 8} gives\n      (Image of size 8x8x3 (uint8 HWC), Category(0, 'Bag'))",
        "Adding the next 3 samples", "Collating items in a batch",
        "starting from\n      (Tensor<uint8> of size 4x8x8x3", "Tensor<int64>([0, 0, 0, 0])",
        "applying IntToFloat -- {'div': 255.0} gives\n      (Tensor<float32> of size 4x8x8x3",
        "applying Jitter gives\n      (Tensor<float32> of size 4x8x8x3"})
    CHECK_THAT(s, Catch::Contains(line));
}

TEST_CASE("summary reports a broken item transform with its name, input and error", "[datablock][summary]") {
  TempDir t;
  make_tree(t.path());
  auto db = DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label(),
                      item_tfms(FailOnHeight{11}, CropTo{8})};
  std::ostringstream os;
  CHECK_THROWS_WITH(db.summary(t.path(), os), Catch::Contains("boom: cannot handle height 11"));
  const std::string s = os.str();
  INFO(s);
  CHECK_THAT(s, Catch::Contains("applying FailOnHeight failed\n      on input: (Image of size 11x11x3 (uint8 HWC), "
                                "Category(0, 'Bag')) from Path('"));
  CHECK_THAT(s, Catch::Contains("Bag_1.ppm')\n      error: boom: cannot handle height 11"));
}

TEST_CASE("summary without a resize stops at collation, as fastai's pets1", "[datablock][summary]") {
  TempDir t;
  make_tree(t.path());
  auto db = DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label()};
  std::ostringstream os;
  CHECK_THROWS_AS(db.summary(t.path(), os), ShapeError);
  const std::string s = os.str();
  INFO(s);
  CHECK_THAT(s, Catch::Contains("No item_tfms to apply"));
  CHECK_THAT(s, Catch::Contains("Error! It's not possible to collate your items in a batch"));
  CHECK_THAT(s, Catch::Contains("on input: Image of size 10x10x3 (uint8 HWC),Image of size 11x11x3"));
  CHECK_THAT(s, Catch::Contains("Add an item transform that gives every image the same size"));
}

TEST_CASE("summary reports a labeller failing on a file", "[datablock][summary]") {
  TempDir t;
  make_tree(t.path());
  write_ppm(t / "train/Bag/IMG.ppm", 10, 10, 1);
  auto db = DataBlock{Blocks{ppm_block(), CategoryBlock{}}, get_image_files, GrandparentSplitter{}, regex_label()};
  std::ostringstream os;
  CHECK_THROWS(db.summary(t.path(), os));
  CHECK_THAT(os.str(), Catch::Contains("applying using_attr(RegexLabeller") &&
                           Catch::Contains("file_name) failed\n      on input: Path('") &&
                           Catch::Contains("IMG.ppm')\n      error: Failed to find \"(.+)_\\d+.ppm$\" in \"IMG.ppm\""));
}
