#pragma once
// DataLoader and DataLoaders: batches of decoded, transformed samples, prepared ahead of the consumer
// by a pool of worker threads. A loader is written for any input and target blocks (block.hpp): it
// decodes an item with the input block's create(), collates with its collate() and batch_tfm, and
// collates the targets with the target block's collate(). DataLoader, DataLoaders and Batch name the
// loaders of image classification (ImageBlock, CategoryBlock over paths); DataLoaderOf<Item, XBlock,
// YBlock> and DataLoadersOf<...> any other.
//
// Determinism: every random draw comes from a Philox stream named by (seed, epoch, split, item or batch
// index), and batch b always holds the items at positions [b*bs, (b+1)*bs) of the epoch's order, so the
// batches are bit-identical for a seed whatever num_workers is. The train order is a new seeded
// permutation each epoch (each time the loader is iterated); the valid order is the dataset's order.
//
// Threads: a worker builds a whole batch (decode, item transforms, collate, the input block's batch_tfm
// (IntToFloat for images), batch transforms); at most `prefetch` batches are in flight. An exception in a worker is stored in the
// batch's future and rethrown to the consumer when it reaches that batch, naming the file and the step.
//
// Batch transforms on the device (defer_batch_tfms, data/deferred_batch.hpp, data/device_batch.hpp): when
// switched on for a pipeline the GPU's augmentation pass can run (IntToFloat, aug_transforms, Normalize),
// the workers stop after collation and the batches the loop yields carry the uint8 images and their
// augmentation's parameters (Batch::deferred) instead of x; batch_input_on<D>(b) makes x on device D.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <future>
#include <iterator>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/list.hpp"
#include "../core/rng.hpp"
#include "../core/thread_pool.hpp"
#include "../vision/transform.hpp"
#include "block.hpp"
#include "category.hpp"
#include "deferred_batch.hpp"
#include "image_block.hpp"
#include "pipeline.hpp"
#include "shard.hpp"

namespace fastpp {

// What dataloaders() does with a file that cannot be decoded: stop with its error, or leave it out (all
// such files are found by decoding every item once up front, and reported together).
enum class BadItems { error, skip };

struct DataLoaderOptions {
  std::int64_t bs = 64;
  bool shuffle = true;       // train loader only; valid is never shuffled
  int num_workers = -1;      // loader threads; -1: min(16, hardware threads); 0: load on the caller's thread
  std::uint64_t seed = 0;    // shuffles and augmentation; the same seed gives the same batches
  bool drop_last = true;     // train loader only; valid keeps its last, smaller batch
  std::int64_t val_bs = 0;   // 0: bs
  int prefetch = 0;          // batches in flight; 0: 2 * num_workers
  BadItems on_bad_item = BadItems::error;
  std::ostream* report = nullptr;  // where skipped files are listed (BadItems::skip); null: std::cerr
};

// One batch: x the inputs after the batch transforms, y the targets, idxs the positions of its items in
// the loader's dataset (dl.items()[idxs[i]] is the item of sample i). A loader whose batch transforms are
// left to the device (defer_batch_tfms) leaves x empty in the batches of its loops and sets `deferred`
// (the uint8 images and their augmentation's parameters): batch_input_on<D>(b) (data/device_batch.hpp)
// makes the input on device D; one_batch() always runs the transforms and sets x.
template <class XBatch, class YBatch>
struct BatchOf {
  XBatch x;
  YBatch y;
  std::vector<std::int64_t> idxs;
  std::shared_ptr<const DeferredInput> deferred = {};
};
// Image classification: x NHWC float [N, H, W, 3], y the class indices [N].
using Batch = BatchOf<Tensor<float, cpu>, Tensor<std::int64_t, cpu>>;

// A file that could not be loaded, and why.
struct BadItem {
  std::filesystem::path path;
  std::string reason;
  friend std::ostream& operator<<(std::ostream& os, const BadItem& b) {
    return os << "Path('" << b.path.generic_string() << "'): " << b.reason;
  }
};

// A step failed on one item: names the item (path(): the file) and the step.
class ItemError : public IoError {
 public:
  ItemError(const std::string& item, const std::string& step, const std::string& what)
      : IoError(item, "step '" + step + "' failed: " + what), step_(step) {}
  const std::string& step() const noexcept { return step_; }

 private:
  std::string step_;
};

namespace detail {

// Rethrows the exception being handled as the error of `item`'s step: a fastpp IoError about this very
// file passes unchanged (a decoder's FormatError already names it), anything else becomes an ItemError.
[[noreturn]] inline void rethrow_for_item(const std::string& item, const std::string& step, const std::exception& e) {
  if (const auto* io = dynamic_cast<const IoError*>(&e); io != nullptr && io->path() == item) throw;
  throw ItemError(item, step, e.what());
}

inline std::uint64_t stream_id(std::uint64_t epoch, Split split, std::int64_t index) {
  return (epoch << 33) ^ (static_cast<std::uint64_t>(split) << 32) ^ static_cast<std::uint64_t>(index);
}

// What a loader tells a trace as it builds a batch: summary() passes one that prints each step (it calls
// the loader rather than repeating its steps), the loader's own batches pass NoTrace, whose empty calls
// cost nothing. k is the sample's position in the batch, i the item's index in the loader's dataset.
struct NoTrace {
  static constexpr bool active = false;
  template <class... A>
  void loaded(A&&...) {}
  template <class... A>
  void load_failed(A&&...) {}
  template <class... A>
  void item_step_done(A&&...) {}
  template <class... A>
  void item_step_failed(A&&...) {}
  template <class... A>
  void collating(A&&...) {}
  template <class... A>
  void collate_failed(A&&...) {}
  template <class... A>
  void collated(A&&...) {}
  template <class... A>
  void converted(A&&...) {}
  template <class... A>
  void batch_step_done(A&&...) {}
  template <class... A>
  void batch_step_failed(A&&...) {}
};

// Everything a worker needs to build a batch. Immutable once built, so workers share it without locks.
template <class Item, class XBlock, class YBlock>
struct LoaderData {
  using sample_type = typename XBlock::item_type;
  using target_type = typename YBlock::item_type;
  using collated_type = collated_t<XBlock>;
  using x_batch = input_batch_t<XBlock>;
  using y_batch = target_batch_t<YBlock>;
  using batch_type = BatchOf<x_batch, y_batch>;
  using item_step = PipelineStep<sample_type, ItemContext>;
  using batch_step = PipelineStep<x_batch, BatchContext>;

  XBlock x_block;
  YBlock y_block;
  std::vector<Item> items;
  std::vector<target_type> targets;
  std::string load_name = "load";
  std::vector<item_step> item_steps;
  std::vector<batch_step> batch_steps;
  Split split = Split::train;
  std::uint64_t seed = 0;
  std::int64_t bs = 64;
  bool shuffle = false;
  bool drop_last = false;
  ShardSpec shard;  // this process's share of each epoch (data-parallel training; shard.hpp)
  // Set (by DataLoaderOf::defer_batch_tfms): the loop's batches stop after collation, keeping the uint8
  // images and the plan's parameters for them (a plan that is ok(), of a deferrable loader).
  std::shared_ptr<const DeviceAugmentPlan> device_plan;

  // Whether the input block's batches can be deferred at all: uint8 images that IntToFloat makes the
  // float batch the transforms take (ImageBlock).
  static constexpr bool deferrable = [] {
    if constexpr (requires { typename XBlock::batch_tfm; })
      return std::is_same_v<collated_type, Tensor<std::uint8_t, cpu>> &&
             std::is_same_v<typename XBlock::batch_tfm, IntToFloat> && std::is_same_v<x_batch, Tensor<float, cpu>>;
    else
      return false;
  }();
  // The plan of the device pass for these steps; not ok() (with the reason) when they or the block cannot.
  DeviceAugmentPlan device_augment() const {
    if constexpr (deferrable) {
      return device_augment_plan(batch_steps);
    } else {
      DeviceAugmentPlan p;
      p.reason = "the input block's batches are not uint8 images made float by IntToFloat (as ImageBlock's)";
      return p;
    }
  }

  std::int64_t size() const { return static_cast<std::int64_t>(items.size()); }
  // Items this loader yields per epoch: its shard of the dataset.
  std::int64_t epoch_size() const { return shard.world == 1 ? size() : shard_size(size(), shard); }
  std::int64_t n_batches() const { return drop_last ? epoch_size() / bs : (epoch_size() + bs - 1) / bs; }
  std::string name(std::int64_t i) const { return item_string(items[static_cast<std::size_t>(i)]); }

  ItemContext item_context(std::int64_t i, std::uint64_t epoch) const {
    return ItemContext{split, Rng(seed, stream_id(epoch, split, i)), i};
  }
  BatchContext batch_context(std::int64_t b, std::uint64_t epoch) const {
    BatchContext ctx;
    ctx.split = split;
    ctx.rng = Rng(seed ^ 0xB47C4E5ull, stream_id(epoch, split, b));
    // item_rng(i) derives from (seed, epoch, batch, i): a split-dependent seed keeps the valid
    // loader's per-image streams apart from the train loader's.
    ctx.seed = split == Split::train ? seed : seed ^ 0x7A11D5EEDull;
    ctx.epoch = epoch;
    ctx.batch_index = b;
    return ctx;
  }
  // The order of the items in an epoch.
  std::vector<std::int64_t> order(std::uint64_t epoch) const {
    std::vector<std::int64_t> o;
    if (shuffle) {
      Rng rng(seed ^ 0x5A0FF1Eull, epoch);
      random_permutation(o, size(), rng);
    } else {
      o.resize(items.size());
      for (std::size_t i = 0; i < o.size(); ++i) o[i] = static_cast<std::int64_t>(i);
    }
    return shard.world == 1 ? o : shard_order(o, shard);
  }
  std::vector<std::int64_t> batch_idxs(const std::vector<std::int64_t>& order, std::int64_t b) const {
    const auto first = order.begin() + b * bs;
    const auto last = order.begin() + std::min<std::int64_t>((b + 1) * bs, static_cast<std::int64_t>(order.size()));
    return {first, last};
  }

  // Decode item i and run the item transforms on it.
  template <class Trace>
  sample_type item(std::int64_t i, std::uint64_t epoch, Trace& trace, std::int64_t k = 0) const {
    const target_type& y = targets[static_cast<std::size_t>(i)];
    sample_type x = [&] {
      try {
        return x_block.create(items[static_cast<std::size_t>(i)]);
      } catch (const std::exception& e) {
        trace.load_failed(k, i, e);
        rethrow_for_item(name(i), load_name, e);
      }
    }();
    trace.loaded(k, i, x, y);
    ItemContext ctx = item_context(i, epoch);
    for (const auto& s : item_steps) {
      std::optional<sample_type> input;  // kept only for a trace to show on failure
      if constexpr (Trace::active) input = x;
      try {
        x = s.fn(std::move(x), ctx);
      } catch (const std::exception& e) {
        if constexpr (Trace::active) trace.item_step_failed(k, i, s, *input, y, e);
        throw ItemError(name(i), s.name, e.what());
      }
      trace.item_step_done(k, i, s, x, y);
    }
    return x;
  }
  sample_type item(std::int64_t i, std::uint64_t epoch) const {
    NoTrace none;
    return item(i, epoch, none);
  }

  // defer: a loop's batch, whose batch transforms device_plan (when set) leaves to batch_input_on.
  template <class Trace>
  batch_type batch(std::vector<std::int64_t> idxs, std::int64_t b, std::uint64_t epoch, Trace& trace,
                   bool defer = false) const {
    std::vector<sample_type> samples;
    std::vector<std::string> names;
    std::vector<target_type> ts;
    samples.reserve(idxs.size());
    for (std::size_t k = 0; k < idxs.size(); ++k) {
      samples.push_back(item(idxs[k], epoch, trace, static_cast<std::int64_t>(k)));
      names.push_back(name(idxs[k]));
      ts.push_back(targets[static_cast<std::size_t>(idxs[k])]);
    }
    y_batch y = y_block.collate(ts);
    trace.collating(samples);
    collated_type collated = [&] {
      try {
        return x_block.collate(samples, names);
      } catch (const std::exception& e) {
        trace.collate_failed(samples, e);
        throw;
      }
    }();
    trace.collated(collated, y);
    BatchContext ctx = batch_context(b, epoch);
    if constexpr (!Trace::active && deferrable) {
      if (defer && device_plan) {  // the batch transforms are left to batch_input_on: only their draws are made here
        backend::AugmentBatch params;
        try {
          check<ShapeError>(collated.rank() == 4 && collated.size(3) == 3, "needs an NHWC RGB batch [N, H, W, 3], got ",
                            collated.shape().str());
          params = device_plan->params(collated.size(0), collated.size(1), collated.size(2), ctx);
        } catch (const std::exception& e) {
          throw Error(msg("batch ", b, " of the ", split == Split::train ? "train" : "valid",
                          " loader: batch transform '", batch_steps.front().name, "' failed: ", e.what()));
        }
        return batch_type{x_batch{}, std::move(y), std::move(idxs),
                          std::make_shared<const DeferredInput>(DeferredInput{std::move(collated), std::move(params)})};
      }
    }
    // IntToFloat and a first step that can start from the uint8 batch (aug_transforms' AffineCoordTfm:
    // PipelineStep::from_u8) run as one, with the same result and no float copy of the whole batch. Not
    // under a trace (summary() shows each step's output).
    bool fused = false;
    if constexpr (!Trace::active && std::is_same_v<collated_type, Tensor<std::uint8_t, cpu>>) {
      if constexpr (requires { typename XBlock::batch_tfm; })
        fused = std::is_same_v<typename XBlock::batch_tfm, IntToFloat> && !batch_steps.empty() &&
                static_cast<bool>(batch_steps.front().from_u8);
    }
    x_batch x = [&]() -> x_batch {
      if constexpr (!Trace::active && std::is_same_v<collated_type, Tensor<std::uint8_t, cpu>>) {
        if (fused) {
          try {
            return batch_steps.front().from_u8(collated, ctx);
          } catch (const std::exception& e) {
            throw Error(msg("batch ", b, " of the ", split == Split::train ? "train" : "valid",
                            " loader: batch transform '", batch_steps.front().name, "' failed: ", e.what()));
          }
        }
      }
      if constexpr (requires { typename XBlock::batch_tfm; }) {
        return x_batch(typename XBlock::batch_tfm{}(collated));
      } else {
        return collated;
      }
    }();
    if constexpr (Trace::active && requires { typename XBlock::batch_tfm; })
      trace.converted(typename XBlock::batch_tfm{}.name(), x, y);
    for (std::size_t k = fused ? 1 : 0; k < batch_steps.size(); ++k) {
      const auto& s = batch_steps[k];
      std::optional<x_batch> input;  // kept only for a trace to show on failure
      if constexpr (Trace::active) input = x;
      try {
        x = s.fn(std::move(x), ctx);
      } catch (const std::exception& e) {
        if constexpr (Trace::active) trace.batch_step_failed(s, *input, y, e);
        throw Error(msg("batch ", b, " of the ", split == Split::train ? "train" : "valid",
                        " loader: batch transform '", s.name, "' failed: ", e.what()));
      }
      trace.batch_step_done(s, x, y);
    }
    return batch_type{std::move(x), std::move(y), std::move(idxs)};
  }
  batch_type batch(std::vector<std::int64_t> idxs, std::int64_t b, std::uint64_t epoch, bool defer = false) const {
    NoTrace none;
    return batch(std::move(idxs), b, epoch, none, defer);
  }

  // New items (not in the dataset) through this loader's pipeline, as one batch of inputs: decoding,
  // item transforms, collation and batch transforms, with the random streams of position i in epoch 0
  // (the valid loader's transforms draw nothing). What Learner::predict feeds the model.
  x_batch inputs(const std::vector<Item>& new_items) const {
    std::vector<sample_type> samples;
    std::vector<std::string> names;
    for (std::size_t k = 0; k < new_items.size(); ++k) {
      const std::string nm = item_string(new_items[k]);
      sample_type x = [&] {
        try {
          return x_block.create(new_items[k]);
        } catch (const std::exception& e) {
          rethrow_for_item(nm, load_name, e);
        }
      }();
      ItemContext ctx = item_context(static_cast<std::int64_t>(k), 0);
      for (const auto& s : item_steps) {
        try {
          x = s.fn(std::move(x), ctx);
        } catch (const std::exception& e) {
          throw ItemError(nm, s.name, e.what());
        }
      }
      samples.push_back(std::move(x));
      names.push_back(nm);
    }
    collated_type collated = x_block.collate(samples, names);
    x_batch x = [&] {
      if constexpr (requires { typename XBlock::batch_tfm; }) return x_batch(typename XBlock::batch_tfm{}(collated));
      else return collated;
    }();
    BatchContext ctx = batch_context(0, 0);
    for (const auto& s : batch_steps) x = s.fn(std::move(x), ctx);
    return x;
  }
};

// The loader threads, shared by a DataLoaders' train and valid loaders.
struct LoaderThreads {
  std::shared_ptr<ThreadPool> pool;
  int num_workers = 0;
  int prefetch = 1;
};

}  // namespace detail

// The most loader threads dataloaders() starts: 4 x the hardware threads. More only adds contention
// (each worker decodes whole images), and a typo such as num_workers = 1000 would start 1000 threads.
inline int max_num_workers() { return 4 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

namespace detail {

// num_workers as given (-1: min(16, hardware threads)), capped at max_num_workers().
inline int resolve_num_workers(int n) {
  check(n >= -1, "dataloaders: num_workers must be -1 (default), 0 (no threads) or more, got ", n);
  if (n >= 0) return std::min(n, max_num_workers());
  return static_cast<int>(std::min(16u, std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace detail

template <class Item, class XBlock, class YBlock>
class DataLoaderOf {
  using Data = detail::LoaderData<Item, XBlock, YBlock>;

 public:
  using item_type = Item;
  using x_block_type = XBlock;
  using y_block_type = YBlock;
  using sample_type = typename Data::sample_type;
  using x_batch = typename Data::x_batch;
  using y_batch = typename Data::y_batch;
  using batch_type = typename Data::batch_type;

  DataLoaderOf() = default;
  DataLoaderOf(std::shared_ptr<const Data> data, detail::LoaderThreads threads)
      : data_(std::move(data)), threads_(std::move(threads)), epoch_(std::make_shared<std::atomic<std::uint64_t>>(0)) {
    check(data_->bs >= 1, "DataLoader: the batch size must be at least 1, got ", data_->bs);
    check(data_->size() < (std::int64_t{1} << 32), "DataLoader: at most 2^32 items, got ", data_->size());
  }

  struct Sentinel {};

  // An input iterator over one epoch. It owns the batches in flight; destroying it (e.g. leaving the
  // loop early) cancels the ones not started and waits for the ones running.
  class Iterator {
   public:
    using value_type = batch_type;
    using difference_type = std::ptrdiff_t;

    Iterator() = default;
    Iterator(std::shared_ptr<const Data> data, const detail::LoaderThreads& threads, std::uint64_t epoch)
        : run_(std::make_unique<Run>(std::move(data), threads, epoch)) {
      if (run_->n_batches > 0) current_ = run_->take();
    }

    const batch_type& operator*() const { return current_; }
    const batch_type* operator->() const { return &current_; }
    Iterator& operator++() {
      ++index_;
      if (index_ < run_->n_batches) current_ = run_->take();
      else current_ = batch_type{};
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const Iterator& it, Sentinel) { return !it.run_ || it.index_ >= it.run_->n_batches; }
    std::uint64_t epoch() const { return run_ ? run_->epoch : 0; }
    std::int64_t batch_index() const { return index_; }

   private:
    struct Run {
      std::shared_ptr<const Data> data;
      std::shared_ptr<ThreadPool> pool;
      int prefetch;
      bool threaded;
      std::uint64_t epoch;
      std::vector<std::int64_t> order;
      std::int64_t n_batches;
      std::int64_t next_submit = 0;
      std::deque<std::future<batch_type>> inflight;
      std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);

      Run(std::shared_ptr<const Data> d, const detail::LoaderThreads& t, std::uint64_t e)
          : data(std::move(d)), pool(t.pool), prefetch(std::max(1, t.prefetch)), threaded(t.num_workers > 0),
            epoch(e), order(data->order(e)), n_batches(data->n_batches()) {}
      Run(const Run&) = delete;
      Run& operator=(const Run&) = delete;
      ~Run() {
        cancelled->store(true);
        for (auto& f : inflight)
          if (f.valid()) f.wait();
      }

      void refill() {
        while (next_submit < n_batches && static_cast<int>(inflight.size()) < prefetch) {
          const std::int64_t b = next_submit++;
          // The task holds the data and the flag, never the pool or this Run, so nothing it owns can
          // destroy the pool from inside a worker.
          inflight.push_back(pool->submit([d = data, c = cancelled, idxs = data->batch_idxs(order, b), b,
                                           e = epoch]() mutable {
            if (c->load()) return batch_type{};
            return d->batch(std::move(idxs), b, e, true);
          }));
        }
      }
      batch_type take() {
        if (inflight.empty()) refill();
        std::future<batch_type> f = std::move(inflight.front());
        inflight.pop_front();
        if (threaded) refill();  // keep the workers busy while the consumer uses this batch
        return f.get();
      }
    };

    std::unique_ptr<Run> run_;
    batch_type current_;
    std::int64_t index_ = 0;
  };

  // Starts a new epoch: the next shuffle (train) and fresh augmentation draws.
  Iterator begin() const { return Iterator(data_, threads_, epoch_->fetch_add(1)); }
  Sentinel end() const { return {}; }

  // The first batch of the next epoch, built on the calling thread; the epoch is not consumed, so the
  // next loop's first batch equals it.
  batch_type one_batch() const {
    check(n_batches() > 0, "one_batch: the ", split_name(), " loader has no batch (", n_items(),
          " items, bs = ", data_->bs, data_->drop_last ? ", drop_last" : "", ")");
    const std::uint64_t e = epoch_->load();
    return data_->batch(data_->batch_idxs(data_->order(e), 0), 0, e);
  }

  // The loader's epoch counter: how many epochs begin() has started. A checkpoint saves it, so a resumed
  // run draws the same shuffles and augmentations as one that never stopped.
  std::uint64_t epoch() const { return epoch_->load(); }
  void set_epoch(std::uint64_t e) const { epoch_->store(e); }
  // New items through this loader's pipeline (Learner::predict): see LoaderData::inputs.
  x_batch inputs(const std::vector<Item>& new_items) const {
    check(!new_items.empty(), "DataLoader::inputs: no items given");
    return data_->inputs(new_items);
  }

  // This process's share of every epoch (data-parallel training, shard.hpp): a loader over the same data
  // and pipeline that yields only the rank's items, with the epoch counter where this one's is.
  DataLoaderOf shard(const ShardSpec& s) const {
    check_shard(s);
    auto d = std::make_shared<Data>(*data_);
    d->shard = s;
    DataLoaderOf out(std::move(d), threads_);
    out.set_epoch(epoch());
    return out;
  }
  const ShardSpec& shard_spec() const { return data_->shard; }

  // Batch transforms on the device: on, the batches of this loader's loops (begin()) stop after collation
  // and carry the uint8 images and their augmentation's parameters, drawn as the transforms draw them
  // (Batch::deferred; batch_input_on<D>(b) in data/device_batch.hpp applies them on D). It is switched on
  // only where the device pass can run these steps: otherwise the batches keep x, made on the cpu, and
  // device_batch_tfms_reason() says why. Returns whether the batches are now deferred. one_batch(),
  // inputs(), item() and summary() are not affected; loops already started keep the mode they began with;
  // copies of this loader made before the call keep theirs.
  bool defer_batch_tfms(bool on = true) {
    std::shared_ptr<const DeviceAugmentPlan> plan;
    if (on) {
      DeviceAugmentPlan p = data_->device_augment();
      if (p.ok()) plan = std::make_shared<const DeviceAugmentPlan>(std::move(p));
    }
    if (plan != nullptr || data_->device_plan != nullptr) {  // copy on write: in-flight loops hold the old data
      auto d = std::make_shared<Data>(*data_);
      d->device_plan = std::move(plan);
      data_ = std::move(d);
    }
    return batch_tfms_deferred();
  }
  bool batch_tfms_deferred() const { return data_->device_plan != nullptr; }
  // Why this loader's batch transforms cannot be left to the device (one line); empty when they can.
  std::string device_batch_tfms_reason() const { return data_->device_augment().reason; }

  std::int64_t n_items() const { return data_->size(); }
  std::int64_t n_batches() const { return data_->n_batches(); }
  std::int64_t size() const { return n_batches(); }  // as len(dl) in fastai: batches per epoch
  std::int64_t bs() const { return data_->bs; }
  Split split() const { return data_->split; }
  int num_workers() const { return threads_.num_workers; }
  L<Item> items() const { return L<Item>(data_->items); }
  // The target of each item (Category for a CategoryBlock), in the order of items().
  const std::vector<typename Data::target_type>& targets() const { return data_->targets; }
  // The positions of the items in an epoch's order (epoch 0 is the first iteration).
  std::vector<std::int64_t> order(std::uint64_t epoch) const { return data_->order(epoch); }
  // One item after decoding and the item transforms, as the loader makes it in `epoch`.
  sample_type item(std::int64_t i, std::uint64_t epoch = 0) const {
    check<IndexError>(i >= 0 && i < n_items(), "DataLoader::item: index ", i, " is out of range for ", n_items(),
                      " items");
    return data_->item(i, epoch);
  }
  std::string split_name() const { return data_->split == Split::train ? "train" : "valid"; }
  // The loader's input block and transform steps, in the order they run (what export_learner describes).
  const XBlock& x_block() const { return data_->x_block; }
  const std::vector<typename Data::item_step>& item_steps() const { return data_->item_steps; }
  const std::vector<typename Data::batch_step>& batch_steps() const { return data_->batch_steps; }
  // The caption of each target of a batch (its label, or labels): what show_batch writes under an image.
  std::vector<std::string> captions(const y_batch& y, const L<std::string>& vocab) const {
    return data_->y_block.captions(y, vocab);
  }

  // Undoes the batch transforms that can be undone (those with a decode(), e.g. Normalize), last first,
  // as fastai's decode: the result is back in [0, 1] pixel space when the others (augmentation) keep it
  // there, ready for float_to_uint8 / show_batch. x is not modified.
  x_batch decode(const x_batch& x) const {
    x_batch out = x;
    for (auto it = data_->batch_steps.rbegin(); it != data_->batch_steps.rend(); ++it)
      if (it->decode) out = it->decode(out);
    return out;
  }

 private:
  std::shared_ptr<const Data> data_;
  detail::LoaderThreads threads_;
  std::shared_ptr<std::atomic<std::uint64_t>> epoch_;
};

template <class Item, class XBlock, class YBlock>
struct DataLoadersOf {
  using loader_type = DataLoaderOf<Item, XBlock, YBlock>;
  using batch_type = typename loader_type::batch_type;

  loader_type train;
  loader_type valid;
  L<std::string> vocab;
  std::int64_t c = 0;
  L<BadItem> bad_items;  // files left out by BadItems::skip

  batch_type one_batch() const { return train.one_batch(); }
  // Both loaders' batch transforms on the device (DataLoaderOf::defer_batch_tfms); true when both are.
  bool defer_batch_tfms(bool on = true) {
    const bool t = train.defer_batch_tfms(on);
    const bool v = valid.defer_batch_tfms(on);
    return t && v;
  }
  // Both loaders cut for one process of a data-parallel run: the train loader's epochs padded so every
  // rank runs the same number of steps, the valid loader's not, so each item is counted once when the
  // ranks' validation sums are added up.
  DataLoadersOf shard(int rank, int world) const {
    DataLoadersOf out = *this;
    out.train = train.shard(ShardSpec{rank, world, true});
    out.valid = valid.shard(ShardSpec{rank, world, false});
    return out;
  }
  // The label of each target of a batch (captions for show_batch); a multi-label target's labels are
  // joined with ';'.
  std::vector<std::string> labels(const batch_type& b) const { return train.captions(b.y, vocab); }
};

// The loaders of image classification, as fastai's chapter builds them.
using DataLoader = DataLoaderOf<std::filesystem::path, ImageBlock, CategoryBlock>;
using DataLoaders = DataLoadersOf<std::filesystem::path, ImageBlock, CategoryBlock>;

}  // namespace fastpp
