#pragma once
// The pieces a DataBlock is written with: blocks<X, Y>, item_tfms(...), batch_tfms(...), and the
// pipelines they become.
//
// Transforms are checked against the block's item type when the DataBlock is built (a transform that
// cannot take it does not compile, with a message saying so), then kept type-erased as named steps
// sorted by `order` (stable, as fastai's Pipeline). The erasure costs one indirect call per item or
// batch, nothing next to decoding an image, and lets summary() walk the steps one by one.
#include <algorithm>
#include <any>
#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/tensor.hpp"
#include "../vision/transform.hpp"

namespace fastpp {

// The blocks of a DataBlock, input first then target: blocks<ImageBlock, CategoryBlock>, or
// Blocks{ImageBlock{.load = my_loader}, CategoryBlock{.vocab = {...}}} to configure them. Any types that
// satisfy the concepts of block.hpp will do; DataBlock checks them.
template <class XBlock, class YBlock>
struct Blocks {
  XBlock x{};
  YBlock y{};
};
template <class XBlock, class YBlock>
Blocks(XBlock, YBlock) -> Blocks<XBlock, YBlock>;
template <class XBlock, class YBlock>
inline const Blocks<XBlock, YBlock> blocks{};

// What item_tfms(...) and batch_tfms(...) return: the transforms as given, checked later against the
// blocks. An argument may be one transform, a std::tuple of them, or a std::vector of one type.
template <class... Ts>
struct ItemTfms {
  std::tuple<Ts...> tfms;
};
template <class... Ts>
struct BatchTfms {
  std::tuple<Ts...> tfms;
};
template <class... Ts>
ItemTfms<std::decay_t<Ts>...> item_tfms(Ts&&... ts) {
  return {std::tuple<std::decay_t<Ts>...>(std::forward<Ts>(ts)...)};
}
template <class... Ts>
BatchTfms<std::decay_t<Ts>...> batch_tfms(Ts&&... ts) {
  return {std::tuple<std::decay_t<Ts>...>(std::forward<Ts>(ts)...)};
}

// One step of a pipeline, erased. `decode` is set when the transform has `decode(x) const` (e.g.
// Normalize), so a batch can be brought back to pixels for showing (fastai's decode, in reverse order).
// `spec` is set when the transform has `spec() const`: its description as text, from which an exported
// learner rebuilds it (vision/transform_spec.hpp, learner/export.hpp); empty for a transform that cannot
// be exported. `min_decode` is set when an item transform has `min_decode_size() const` (Resize): a
// DataBlock whose first item step has one lets the decoder scale JPEGs down to it (DecodeOptions::min_size).
template <class In, class Ctx>
struct PipelineStep {
  std::string name;
  int order = 0;
  std::function<In(In, Ctx&)> fn;
  std::function<In(const In&)> decode = {};
  std::string spec = {};
  MinDecodeSize min_decode = {};  // from `min_decode_size() const` (Resize): what the decoder may scale down to
  // From `from_u8(uint8 batch, ctx) const` (AffineCoordTfm): this step applied to IntToFloat(batch), bit for
  // bit, without the float copy of the whole batch. The loader calls it when the step comes first.
  std::function<In(const Tensor<std::uint8_t, cpu>&, Ctx&)> from_u8 = {};
  // A copy of the transform itself (batch steps): where code recognises a known transform type behind
  // the erased step, as data/deferred_batch.hpp finds aug_transforms and Normalize to run them on a device.
  std::any tfm = {};
};
// The steps of image classification's pipelines.
using ItemStep = PipelineStep<Image, ItemContext>;
using BatchStep = PipelineStep<Tensor<float, cpu>, BatchContext>;

namespace detail {

template <class T>
struct is_std_tuple : std::false_type {};
template <class... Ts>
struct is_std_tuple<std::tuple<Ts...>> : std::true_type {};
template <class T>
struct is_std_vector : std::false_type {};
template <class T, class A>
struct is_std_vector<std::vector<T, A>> : std::true_type {};

// True when T can describe itself as text (`std::string spec() const`), so an export can rebuild it.
template <class T>
inline constexpr bool has_spec = requires(const T& t) {
  { t.spec() } -> std::convertible_to<std::string>;
};

// True when T is an item transform for items of type Item: Item operator()(Item, ItemContext&) const,
// a static order and a name().
template <class T, class Item>
inline constexpr bool item_transform_for = requires(const T& t, Item x, ItemContext& ctx) {
  { t(std::move(x), ctx) } -> std::same_as<Item>;
  { T::order } -> std::convertible_to<int>;
  { t.name() } -> std::convertible_to<std::string>;
};

// True when T looks like the other kind of transform than the pipeline it was given to: a batch transform
// (it takes an image pipeline's float batch and a BatchContext, as Normalize or aug_transforms) in
// item_tfms, or an item transform (an Image and an ItemContext, as Resize) in batch_tfms. Each then gets a
// message that says where it belongs, instead of the general one about signatures.
template <class T>
inline constexpr bool takes_image_batches = requires(const T& t, Tensor<float, cpu> b, BatchContext& ctx) {
  t(std::move(b), ctx);
};
template <class T>
inline constexpr bool takes_images = requires(const T& t, Image x, ItemContext& ctx) {
  { t(std::move(x), ctx) } -> std::same_as<Image>;
};

template <class Item, class T>
void append_item_steps(std::vector<PipelineStep<Item, ItemContext>>& out, const T& t) {
  if constexpr (is_std_tuple<T>::value) {
    std::apply([&](const auto&... e) { (append_item_steps<Item>(out, e), ...); }, t);
  } else if constexpr (is_std_vector<T>::value) {
    for (const auto& e : t) append_item_steps<Item>(out, e);
  } else {
    static_assert(item_transform_for<T, Item> || !takes_image_batches<T>,
                  "item_tfms: this is a batch transform (it takes a batch Tensor<float>[N,H,W,C] and a BatchContext, "
                  "as Normalize and aug_transforms do): move it to batch_tfms(...)");
    static_assert(item_transform_for<T, Item> || takes_image_batches<T>,
                  "item_tfms: this transform cannot take the item type of the DataBlock's input block (for an "
                  "ImageBlock, Image = Tensor<uint8_t>[H,W,3]): give it `Image operator()(Image, ItemContext&) "
                  "const`, `static constexpr int order` and `std::string name() const` (see vision/transform.hpp)");
    if constexpr (item_transform_for<T, Item>) {
      PipelineStep<Item, ItemContext> step{t.name(), static_cast<int>(T::order),
                                           [t](Item x, ItemContext& ctx) { return t(std::move(x), ctx); }};
      if constexpr (has_spec<T>) step.spec = t.spec();
      if constexpr (requires { { t.min_decode_size() } -> std::same_as<MinDecodeSize>; })
        step.min_decode = t.min_decode_size();
      out.push_back(std::move(step));
    }
  }
}

// True when T is a batch transform for batches of type XBatch: XBatch operator()(XBatch, BatchContext&)
// const, a static order and a name().
template <class T, class XBatch>
inline constexpr bool batch_transform_for = requires(const T& t, XBatch b, BatchContext& ctx) {
  { t(std::move(b), ctx) } -> std::same_as<XBatch>;
  { T::order } -> std::convertible_to<int>;
  { t.name() } -> std::convertible_to<std::string>;
};

template <class XBatch, class T>
void append_batch_steps(std::vector<PipelineStep<XBatch, BatchContext>>& out, const T& t) {
  if constexpr (is_std_tuple<T>::value) {
    std::apply([&](const auto&... e) { (append_batch_steps<XBatch>(out, e), ...); }, t);
  } else if constexpr (is_std_vector<T>::value) {
    for (const auto& e : t) append_batch_steps<XBatch>(out, e);
  } else {
    static_assert(batch_transform_for<T, XBatch> || !takes_images<T>,
                  "batch_tfms: this is an item transform (it takes one Image and an ItemContext, as Resize and "
                  "RandomResizedCrop do: images are resized one by one, before they are collated): move it to "
                  "item_tfms(...)");
    static_assert(batch_transform_for<T, XBatch> || takes_images<T>,
                  "batch_tfms: this transform cannot take a batch of the DataBlock's input block (for an ImageBlock, "
                  "NHWC Tensor<float>[N,H,W,3] in [0,1]): give it `Tensor<float> operator()(Tensor<float>, "
                  "BatchContext&) const`, `static constexpr int order` and `std::string name() const` (see "
                  "vision/transform.hpp)");
    if constexpr (batch_transform_for<T, XBatch>) {
      PipelineStep<XBatch, BatchContext> step{t.name(), static_cast<int>(T::order),
                                              [t](XBatch b, BatchContext& ctx) { return t(std::move(b), ctx); }};
      if constexpr (requires(const XBatch& b) {
                      { t.decode(b) } -> std::convertible_to<XBatch>;
                    })
        step.decode = [t](const XBatch& b) { return XBatch(t.decode(b)); };
      if constexpr (has_spec<T>) step.spec = t.spec();
      step.tfm = t;
      if constexpr (requires(const Tensor<std::uint8_t, cpu>& u, BatchContext& c) {
                      { t.from_u8(u, c) } -> std::convertible_to<XBatch>;
                    })
        step.from_u8 = [t](const Tensor<std::uint8_t, cpu>& u, BatchContext& c) { return XBatch(t.from_u8(u, c)); };
      out.push_back(std::move(step));
    }
  }
}

template <class S>
void sort_by_order(std::vector<S>& steps) {
  std::stable_sort(steps.begin(), steps.end(), [](const S& a, const S& b) { return a.order < b.order; });
}

}  // namespace detail

// "Resize -> Flip -> Normalize": how summary() names a pipeline.
template <class S>
std::string pipeline_repr(const std::vector<S>& steps) {
  std::string s;
  for (const auto& st : steps) s += (s.empty() ? "" : " -> ") + st.name;
  return s;
}

}  // namespace fastpp
