#pragma once
// What a loader keeps of a batch when its batch transforms are left to the device (DataLoaderOf::
// defer_batch_tfms; data/device_batch.hpp turns such a batch into the model's input): the uint8 batch as
// collated, and the batch transforms' draws for it as parameters (backend/augment_batch.hpp), drawn by the
// worker from the same per-batch context, so from the same (seed, epoch, index) streams, as the cpu path.
//
// Only the pipeline that the device kernel (cuda_kernels::augment_batch) runs in one pass can be left
// to the device: IntToFloat (ImageBlock's batch_tfm), then aug_transforms' AffineCoordTfm, then
// optionally its LightingTfm, then optionally Normalize, and nothing else. device_augment_plan() recognises
// it in a loader's type-erased steps (PipelineStep::tfm holds a copy of each transform) or says in one
// line why not; any other pipeline keeps running on the cpu.
#include <any>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../backend/augment_batch.hpp"
#include "../core/tensor.hpp"
#include "../vision/augment.hpp"
#include "../vision/transform.hpp"
#include "pipeline.hpp"

namespace fastpp {

// A batch's input before IntToFloat and the batch transforms: the collated images [N, H, W, 3] and the
// parameters of their augmentation (params.n == N, params.in_h == H, params.in_w == W).
struct DeferredInput {
  Tensor<std::uint8_t, cpu> images;
  backend::AugmentBatch params;
};

// The batch transforms as the device kernel's pass, or why they cannot be one (`reason`, one line).
struct DeviceAugmentPlan {
  std::optional<AffineCoordTfm> affine;
  std::optional<LightingTfm> lighting;
  std::optional<Normalize> norm;
  std::string reason;  // empty: the steps are affine [-> lighting] [-> norm]

  bool ok() const { return reason.empty(); }
  // The parameters of a batch of n images of in_h x in_w in ctx: the same draws as the steps' calls.
  backend::AugmentBatch params(std::int64_t n, std::int64_t in_h, std::int64_t in_w, const BatchContext& ctx) const {
    check(ok(), "DeviceAugmentPlan::params: the batch transforms cannot run on the device: ", reason);
    return augment_params(*affine, lighting ? &*lighting : nullptr, norm ? &*norm : nullptr, n, in_h, in_w, ctx);
  }
};

// Recognises the steps (sorted by order, as a DataBlock keeps them) of an image pipeline. A step made by
// some other means than batch_tfms(...) (without its transform in PipelineStep::tfm) is not recognised.
template <class XBatch>
DeviceAugmentPlan device_augment_plan(const std::vector<PipelineStep<XBatch, BatchContext>>& steps) {
  DeviceAugmentPlan p;
  const char* runs = " (the device pass runs aug_transforms' AffineCoordTfm, then LightingTfm, then Normalize)";
  if (steps.empty()) {
    p.reason = std::string("there are no batch transforms") + runs;
    return p;
  }
  std::size_t k = 0;
  if (const auto* a = std::any_cast<AffineCoordTfm>(&steps[k].tfm)) {
    p.affine = *a;
    ++k;
  } else {
    p.reason = "the first batch transform is '" + steps[k].name + "', not AffineCoordTfm" + runs;
    return p;
  }
  if (k < steps.size())
    if (const auto* l = std::any_cast<LightingTfm>(&steps[k].tfm)) {
      p.lighting = *l;
      ++k;
    }
  if (k < steps.size())
    if (const auto* n = std::any_cast<Normalize>(&steps[k].tfm)) {
      p.norm = *n;
      ++k;
    }
  if (k < steps.size()) {
    p.affine.reset();
    p.lighting.reset();
    p.norm.reset();
    p.reason = "batch transform '" + steps[k].name + "' is not one the device pass runs" + runs;
  }
  return p;
}

}  // namespace fastpp
