// The DataBlock and its loader take any blocks that satisfy the Block concepts (data/block.hpp), not only
// ImageBlock: here an input block of our own turns integers into feature rows, with CategoryBlock targets,
// item and batch transforms on its own types, threads, and summary().
#include <catch2/catch.hpp>
#include <fastpp/data.hpp>

#include <sstream>

using namespace fastpp;

namespace {

// An input block whose items are integers and whose samples are rows [2] = (n, n * n) as floats.
struct SquareBlock {
  using item_type = Tensor<float, cpu>;
  item_type create(int n) const {
    if (n < 0) throw ValueError(detail::msg("SquareBlock: negative item ", n));
    return Tensor<float, cpu>::from({2}, {static_cast<float>(n), static_cast<float>(n * n)});
  }
  Tensor<float, cpu> collate(const std::vector<item_type>& rows, const std::vector<std::string>&) const {
    auto out = Tensor<float, cpu>::empty({static_cast<std::int64_t>(rows.size()), 2});
    for (std::size_t i = 0; i < rows.size(); ++i)
      for (int k = 0; k < 2; ++k) out.data()[i * 2 + k] = rows[i].data()[k];
    return out;
  }
  std::string name() const { return "SquareBlock"; }
};

struct Numbers {  // get_items: 0..n-1 of a source n
  std::vector<int> operator()(int n) const {
    std::vector<int> v(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
    return v;
  }
};

struct Parity {
  std::string operator()(int n) const { return n % 2 == 0 ? "even" : "odd"; }
  std::string name() const { return "Parity"; }
};

struct AddOne {  // an item transform on the block's samples
  static constexpr int order = 1;
  Tensor<float, cpu> operator()(Tensor<float, cpu> x, ItemContext&) const {
    auto y = x.clone();
    y.data()[0] += 1;
    return y;
  }
  std::string name() const { return "AddOne"; }
};

struct Halve {  // a batch transform on the block's batches
  static constexpr int order = 50;
  Tensor<float, cpu> operator()(Tensor<float, cpu> b, BatchContext&) const {
    auto y = b.clone();
    for (std::int64_t i = 0; i < y.numel(); ++i) y.data()[i] /= 2;
    return y;
  }
  std::string name() const { return "Halve"; }
};

}  // namespace

TEST_CASE("a DataBlock over an input block of its own: items, samples, batches and summary", "[datablock][blocks]") {
  STATIC_REQUIRE(Block<SquareBlock>);
  STATIC_REQUIRE(InputBlock<SquareBlock, int>);
  auto db = DataBlock{Blocks{SquareBlock{}, CategoryBlock{}}, Numbers{}, IndexSplitter{{1, 4}}, Parity{},
                      item_tfms(AddOne{}), batch_tfms(Halve{})};
  STATIC_REQUIRE(std::is_same_v<decltype(db)::x_type, Tensor<float, cpu>>);
  for (int workers : {0, 2}) {
    auto dls = db.dataloaders(10, {.bs = 4, .shuffle = false, .num_workers = workers, .drop_last = false});
    CHECK(dls.vocab == L<std::string>{"even", "odd"});
    CHECK(dls.train.items() == L<int>{0, 2, 3, 5, 6, 7, 8, 9});
    std::vector<float> xs, ys;
    for (const auto& b : dls.train) {
      REQUIRE(b.x.rank() == 2);
      for (std::int64_t i = 0; i < b.x.numel(); ++i) xs.push_back(b.x.data()[i]);
      for (std::int64_t i = 0; i < b.y.numel(); ++i) ys.push_back(static_cast<float>(b.y.data()[i]));
    }
    // item n: ((n + 1) / 2, n * n / 2), label even (0) or odd (1)
    CHECK(xs == std::vector<float>{0.5f, 0, 1.5f, 2, 2, 4.5f, 3, 12.5f, 3.5f, 18, 4, 24.5f, 4.5f, 32, 5, 40.5f});
    CHECK(ys == std::vector<float>{0, 0, 1, 1, 0, 1, 0, 1});
    CHECK(dls.labels(dls.valid.one_batch()) == std::vector<std::string>{"odd", "even"});
  }
  std::ostringstream os;
  db.summary(10, os);
  INFO(os.str());
  CHECK_THAT(os.str(), Catch::Contains("Collecting items from 10") && Catch::Contains("Setting up Pipeline: SquareBlock") &&
                           Catch::Contains("applying SquareBlock gives\n      Tensor<float32>([0, 0])") &&
                           Catch::Contains("applying AddOne gives\n      (Tensor<float32>([1, 0]), Category(0, 'even'))") &&
                           Catch::Contains("Pipeline: Halve\n") &&
                           Catch::Contains("applying Halve gives\n      (Tensor<float32> of size 4x2"));

  // A failing create() reaches the consumer as an ItemError naming the item and the block's step.
  auto bad = DataBlock{Blocks{SquareBlock{}, CategoryBlock{}}, [](int) { return std::vector<int>{0, 1, -3, 2}; },
                       IndexSplitter{{0}}, Parity{}};
  auto dls = bad.dataloaders(0, {.bs = 4, .shuffle = false, .num_workers = 1, .drop_last = false});
  try {
    for (const auto& b : dls.train) (void)b;
    FAIL("the loader did not report the negative item");
  } catch (const ItemError& e) {
    CHECK(e.path() == "-3");
    CHECK(e.step() == "SquareBlock");
    CHECK_THAT(e.what(), Catch::Contains("negative item -3"));
  }
}
