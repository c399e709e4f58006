#include <catch2/catch.hpp>
#include <fastpp/data.hpp>
#include <fastpp/loss.hpp>

#include <algorithm>
#include <set>

using namespace fastpp;
namespace fs = std::filesystem;

TEST_CASE("RegexLabeller returns group 1 of a search, as fastai", "[labels]") {
  RegexLabeller pets{R"((.+)_\d+.jpg$)"};
  CHECK(pets(fs::path("images/great_pyrenees_173.jpg")) == "images/great_pyrenees");
  auto by_name = using_attr(RegexLabeller{R"((.+)_\d+.jpg$)"}, file_name);
  CHECK(by_name(fs::path("images/great_pyrenees_173.jpg")) == "great_pyrenees");
  CHECK(by_name(fs::path("/x/Bengal_92.jpg")) == "Bengal");
  // greedy (.+) and the unescaped '.': the last _digits followed by any character and jpg
  CHECK(by_name(fs::path("a_1_22xjpg")) == "a_1");
  CHECK(by_name.name() == "using_attr(RegexLabeller -- {'pat': '(.+)_\\d+.jpg$', 'match': False}, file_name)");
}

TEST_CASE("RegexLabeller: a file it cannot read is an error naming the pattern and the string", "[labels]") {
  RegexLabeller r{R"((.+)_\d+.jpg$)"};
  CHECK_THROWS_AS(r(std::string("readme.txt")), ValueError);
  CHECK_THROWS_WITH(r(std::string("readme.txt")), "Failed to find \"(.+)_\\d+.jpg$\" in \"readme.txt\"");
  CHECK_THROWS_WITH(RegexLabeller{"abc"}(std::string("abc")), Catch::Contains("no capture group"));
  CHECK_THROWS_WITH(RegexLabeller{"(unclosed"}, Catch::Contains("not a valid ECMAScript regular expression"));
}

TEST_CASE("RegexLabeller with match=true needs the whole string to match", "[labels]") {
  RegexLabeller m{R"((\w+)_\d+)", true};
  CHECK(m(std::string("cat_12")) == "cat");
  CHECK_THROWS(m(std::string("x/cat_12")));
  RegexLabeller s{R"((\w+)_\d+)"};
  CHECK(s(std::string("x/cat_12")) == "cat");
}

TEST_CASE("parent_label and the path attributes", "[labels]") {
  const fs::path p("data/train/cat/img_1.png");
  CHECK(parent_label(p) == "cat");
  CHECK(parent_name(p) == "cat");
  CHECK(file_name(p) == "img_1.png");
  CHECK(file_stem(p) == "img_1");
}

namespace {
L<fs::path> numbered(int n) {
  L<fs::path> items;
  for (int i = 0; i < n; ++i) items.push_back(detail::msg("f", i, ".png"));
  return items;
}
}  // namespace

TEST_CASE("RandomSplitter: valid is the first int(pct*n) of a seeded Philox permutation", "[splitters]") {
  auto items = numbered(7390);
  auto s = RandomSplitter{.valid_pct = 0.2, .seed = 42}(items);
  CHECK(s.valid.size() == 1478);  // the pets numbers of fastai's book
  CHECK(s.train.size() == 5912);
  Rng rng(42, 0x5B117);
  std::vector<std::int64_t> perm;
  random_permutation(perm, 7390, rng);
  CHECK(std::equal(s.valid.begin(), s.valid.end(), perm.begin()));
  CHECK(std::equal(s.train.begin(), s.train.end(), perm.begin() + 1478));
  // Deterministic, and the seed matters.
  CHECK(RandomSplitter{.valid_pct = 0.2, .seed = 42}(items).valid == s.valid);
  CHECK(RandomSplitter{.valid_pct = 0.2, .seed = 43}(items).valid != s.valid);
  std::set<std::int64_t> all(s.train.begin(), s.train.end());
  all.insert(s.valid.begin(), s.valid.end());
  CHECK(all.size() == 7390);
  CHECK(RandomSplitter{.valid_pct = 0.25}(numbered(10)).valid.size() == 2);  // floor, as int()
  CHECK_THROWS(RandomSplitter{.valid_pct = 1.5}(items));
}

TEST_CASE("GrandparentSplitter, IndexSplitter, FuncSplitter", "[splitters]") {
  L<fs::path> items{"d/train/cat/1.png", "d/valid/cat/2.png", "d/test/cat/3.png", "d/train/dog/4.png"};
  auto g = GrandparentSplitter{}(items);
  CHECK(g.train == std::vector<std::int64_t>{0, 3});
  CHECK(g.valid == std::vector<std::int64_t>{1});
  auto g2 = GrandparentSplitter{.train_name = "test", .valid_name = "train"}(items);
  CHECK(g2.train == std::vector<std::int64_t>{2});
  CHECK(g2.valid == std::vector<std::int64_t>{0, 3});

  auto ix = IndexSplitter{{3, 1}}(items);
  CHECK(ix.valid == std::vector<std::int64_t>{3, 1});
  CHECK(ix.train == std::vector<std::int64_t>{0, 2});
  CHECK_THROWS_AS(IndexSplitter{{4}}(items), IndexError);
  CHECK_THROWS_WITH((IndexSplitter{{1, 1}}(items)), Catch::Contains("given twice"));

  auto f = FuncSplitter([](const fs::path& p) { return p.parent_path().filename() == "dog"; })(items);
  CHECK(f.valid == std::vector<std::int64_t>{3});
  CHECK(f.train == std::vector<std::int64_t>{0, 1, 2});
}

TEST_CASE("CategoryBlock: sorted byte-order vocabulary from the training labels", "[category]") {
  CategoryBlock cb;
  auto vocab = cb.setup(L<std::string>{"beagle", "Bengal", "beagle", "Abyssinian"});
  CHECK(vocab.vocab() == L<std::string>{"Abyssinian", "Bengal", "beagle"});
  CHECK(vocab.size() == 3);
  CHECK(vocab.encode("Bengal") == Category{1, "Bengal"});
  CHECK(vocab.decode(2).label == "beagle");
  CHECK_THROWS_AS(vocab.decode(3), IndexError);
  CHECK_THROWS_WITH(vocab.encode("pug", "Path('valid/pug_1.png')"),
                    Catch::Contains("Label 'pug' was not included in the training dataset") &&
                        Catch::Contains("valid/pug_1.png") && Catch::Contains("CategoryBlock{.vocab"));
  CHECK(CategoryBlock{.vocab = {"z", "a"}}.setup(L<std::string>{"a"}).vocab() == L<std::string>{"z", "a"});
  CHECK(CategoryBlock{.sort = false}.setup(L<std::string>{"b", "a", "b"}).vocab() == L<std::string>{"b", "a"});
}

// The blocks name their loss by a LossKind (core/loss_kind.hpp); loss/default_loss.hpp reads it. This test
// sits above both, so it may include the losses.
TEST_CASE("default_loss<Category> and default_loss<CategoryBlock> name CrossEntropyLossFlat, multi-label BCE",
          "[category]") {
  STATIC_REQUIRE(CategoryBlock::default_loss_kind == LossKind::cross_entropy);
  STATIC_REQUIRE(MultiCategoryBlock::default_loss_kind == LossKind::bce_with_logits);
  STATIC_REQUIRE(std::is_same_v<default_loss<Category>::type, CrossEntropyLossFlat>);
  STATIC_REQUIRE(std::is_same_v<default_loss_t<CategoryBlock>, CrossEntropyLossFlat>);
  STATIC_REQUIRE(std::is_same_v<default_loss_t<MultiCategory>, BCEWithLogitsLossFlat>);
  STATIC_REQUIRE(std::is_same_v<default_loss_t<MultiCategoryBlock>, BCEWithLogitsLossFlat>);
}
