#pragma once
// A loader's batch as the model's input on a device. With the loader's batch transforms on the device
// (dl.defer_batch_tfms(), data/dataloader.hpp) a batch of its loops holds the uint8 images and their
// augmentation's parameters instead of x; batch_input_on<D>(b) applies them on D:
//
//   dls.defer_batch_tfms();                                  // once, before the loops
//   for (const auto& b : dls.train) {
//     Tensor<float, cuda> x = batch_input_on<cuda>(b);       // one uint8 copy, one kernel
//     ...
//   }
//
//   cpu:   IntToFloat and the cpu's passes of the parameters (vision/augment.hpp: run_augment), which are
//          the transforms' calls bit for bit: the same x the loader makes with the mode off.
//   cuda:  (a build with fastpp::cuda) the uint8 batch copied to the GPU once and cuda_kernels::augment_batch
//          (backend/cuda/image.hpp) on the calling thread's current stream; the cpu's x within float
//          rounding (tests/cuda/test_device_batch.cpp).
//   other: the cpu's x, copied to D.
// A batch without deferred parameters (the mode off, or a pipeline the device pass cannot run) gives its x,
// copied to D (on the cpu: b.x itself, sharing its storage).
#include <cstdint>
#include <type_traits>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../vision/augment.hpp"
#include "dataloader.hpp"
#if defined(FASTPP_WITH_CUDA)
#include "../backend/cuda/image.hpp"
#endif

namespace fastpp {

// The number of samples in a batch, whether x is made (b.x.size(0)) or deferred.
template <class YBatch>
std::int64_t batch_rows(const BatchOf<Tensor<float, cpu>, YBatch>& b) {
  return b.deferred != nullptr ? b.deferred->images.size(0) : b.x.size(0);
}

template <class D, class YBatch>
Tensor<float, D> batch_input_on(const BatchOf<Tensor<float, cpu>, YBatch>& b) {
  if (b.deferred == nullptr) {
    check<ValueError>(b.x.defined(), "batch_input_on: the batch has neither x nor deferred images");
    if constexpr (std::is_same_v<D, cpu>) return b.x;
    else return b.x.template to<D>();
  }
  const DeferredInput& in = *b.deferred;
  const backend::AugmentBatch& p = in.params;
  check<ShapeError>(p.consistent() && in.images.rank() == 4 && in.images.size(0) == p.n &&
                        in.images.size(1) == p.in_h && in.images.size(2) == p.in_w && in.images.size(3) == 3,
                    "batch_input_on: parameters for ", p.n, " images of ", p.in_h, " x ", p.in_w,
                    " do not fit the deferred images ", in.images.shape().str());
#if defined(FASTPP_WITH_CUDA)
  if constexpr (std::is_same_v<D, cuda>) {
    const Tensor<std::uint8_t, cuda> images = in.images.template to<cuda>();
    auto out = Tensor<float, cuda>::empty(Shape{p.n, p.out_h, p.out_w, 3});
    // Queued on the current stream; `images` is released when this returns, to the allocator's pool of that
    // stream, so no later work on the stream can take its memory before the kernel has read it.
    cuda_kernels::augment_batch(images.data(), p, out.data());
    return out;
  }
#endif
  Tensor<float, cpu> x = run_augment(int_to_float(in.images), p);
  if constexpr (std::is_same_v<D, cpu>) return x;
  else return x.template to<D>();
}

}  // namespace fastpp
