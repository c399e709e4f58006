#pragma once
// Splitters: items -> (train indices, valid indices), after fastai's. RandomSplitter draws its
// permutation from the counter-based Philox generator, so a seed gives the same split on every
// platform and thread count (fastai's matches PyTorch's mt19937 randperm instead; with get_image_files
// sorted, ours is the same on every machine, fastai's is not).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/list.hpp"
#include "../core/rng.hpp"

namespace fastpp {

struct Splits {
  std::vector<std::int64_t> train;
  std::vector<std::int64_t> valid;
};

// valid = the first int(valid_pct * n) entries of a seeded permutation of 0..n-1, train = the rest
// (fastai's rule: perm[cut:], perm[:cut]).
struct RandomSplitter {
  double valid_pct = 0.2;
  std::uint64_t seed = 42;

  template <class Item>
  Splits operator()(const L<Item>& items) const {
    check(valid_pct >= 0.0 && valid_pct <= 1.0, "RandomSplitter: valid_pct = ", valid_pct, " is not in [0, 1]");
    const std::int64_t n = items.size();
    // The stream number keeps the splitter's draws apart from any other use of the same seed.
    Rng rng(seed, /*stream=*/0x5B117);
    std::vector<std::int64_t> perm;
    random_permutation(perm, n, rng);
    const auto cut = static_cast<std::int64_t>(valid_pct * static_cast<double>(n));
    return Splits{{perm.begin() + cut, perm.end()}, {perm.begin(), perm.begin() + cut}};
  }
  std::string name() const {
    return detail::msg("RandomSplitter -- {'valid_pct': ", valid_pct, ", 'seed': ", seed, "}");
  }
};

// An item belongs to train when the folder above its folder is named train_name, to valid when it is
// named valid_name; other items are dropped (fastai's GrandparentSplitter).
struct GrandparentSplitter {
  std::string train_name = "train";
  std::string valid_name = "valid";

  Splits operator()(const L<std::filesystem::path>& items) const {
    Splits s;
    for (std::int64_t i = 0; i < items.size(); ++i) {
      const std::string gp = items[i].parent_path().parent_path().filename().string();
      if (gp == train_name) s.train.push_back(i);
      else if (gp == valid_name) s.valid.push_back(i);
    }
    return s;
  }
  std::string name() const { return "GrandparentSplitter -- {'train_name': '" + train_name + "', 'valid_name': '" + valid_name + "'}"; }
};

// The items at valid_idx are the validation set (in that order), the rest train.
struct IndexSplitter {
  std::vector<std::int64_t> valid_idx;

  template <class Item>
  Splits operator()(const L<Item>& items) const {
    const std::int64_t n = items.size();
    std::vector<bool> is_valid(static_cast<std::size_t>(n), false);
    for (auto i : valid_idx) {
      check<IndexError>(i >= 0 && i < n, "IndexSplitter: index ", i, " is out of range for ", n, " items");
      check(!is_valid[static_cast<std::size_t>(i)], "IndexSplitter: index ", i, " is given twice");
      is_valid[static_cast<std::size_t>(i)] = true;
    }
    Splits s;
    s.valid = valid_idx;  // in the order given, as fastai
    for (std::int64_t i = 0; i < n; ++i)
      if (!is_valid[static_cast<std::size_t>(i)]) s.train.push_back(i);
    return s;
  }
  std::string name() const { return "IndexSplitter"; }
};

// func(item) == true puts the item in the validation set.
template <class F>
struct FuncSplitter {
  F func;
  explicit FuncSplitter(F f) : func(std::move(f)) {}

  template <class Item>
  Splits operator()(const L<Item>& items) const {
    Splits s;
    for (std::int64_t i = 0; i < items.size(); ++i) (func(items[i]) ? s.valid : s.train).push_back(i);
    return s;
  }
  std::string name() const { return "FuncSplitter"; }
};
template <class F>
FuncSplitter(F) -> FuncSplitter<F>;

}  // namespace fastpp
