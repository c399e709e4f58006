#pragma once
// Options shared by the loss functions: how per-row losses are reduced, class weights, ignored targets.
// They are aggregates, so a call reads like PyTorch's keywords:
//   cross_entropy(logits, targets, {.ignore_index = 0, .reduction = Reduction::sum})
// Class weights live on the logits' device D (the default device unless named).
#include <cstdint>
#include <string_view>

#include "../core/tensor.hpp"

namespace fastpp {

// none: one loss per row; mean: PyTorch's mean (weighted by the class weights, see nll_loss); sum.
enum class Reduction { none, mean, sum };

constexpr std::string_view reduction_name(Reduction r) {
  return r == Reduction::none ? "none" : r == Reduction::mean ? "mean" : "sum";
}

// Options of nll_loss and cross_entropy, with PyTorch's defaults.
template <class D = cpu>
struct BasicNllOptions {
  Tensor<float, D> weight{};          // one weight per class ([C]), or undefined for all ones
  std::int64_t ignore_index = -100;   // rows whose target equals it add nothing to the loss or the weight
  Reduction reduction = Reduction::mean;
};
using NllOptions = BasicNllOptions<>;
using CrossEntropyOptions = NllOptions;

// fastai's LabelSmoothingCrossEntropy: eps spread over the classes, weights on the NLL part only.
template <class D = cpu>
struct BasicLabelSmoothingOptions {
  double eps = 0.1;
  Tensor<float, D> weight{};
  Reduction reduction = Reduction::mean;
};
using LabelSmoothingOptions = BasicLabelSmoothingOptions<>;

// binary_cross_entropy_with_logits: per-class weights along the last axis ([C]) or undefined.
template <class D = cpu>
struct BasicBceOptions {
  Tensor<float, D> weight{};
  Tensor<float, D> pos_weight{};
  Reduction reduction = Reduction::mean;
};
using BceOptions = BasicBceOptions<>;

}  // namespace fastpp
