#pragma once
// Convolutions through oneDNN (Debian's libdnnl-dev), used where CMake found it (FASTPP_HAVE_ONEDNN) and
// conv_library() says so. oneDNN's direct convolutions work on blocked layouts (16 channels a vector) with
// kernels made at run time for the CPU at hand (AVX2, AVX-512): on ResNet-18's layers at batch 32 they ran
// 1.2 to 2.4 times as fast as fastpp's im2col + GEMM (docs/speed.md). Activations stay NHWC, which oneDNN
// reads and writes directly; only the weights are reordered to its layout, on each call (they change every
// step).
//
// What oneDNN gives up: its weight gradient sums per-thread partials, so the bits depend on the thread count
// (the same thread count gives the same bits). set_conv_library(ConvLibrary::fastpp) keeps fastpp's kernels,
// whose results are the same bits for any thread count.
// Internal to the cpu backend: include fastpp/backend/cpu/layer_kernels.hpp instead.
#include <dlfcn.h>

#include <memory>
#include <unordered_map>
#include <oneapi/dnnl/dnnl.hpp>

#include "../../../core/thread_pool.hpp"
#include "../../geometry.hpp"

namespace fastpp::backend::cpu_detail {

// oneDNN runs on OpenMP threads (Debian builds it on GCC's libgomp). The OpenMP runtime is loaded with
// libdnnl, so its functions are looked up there rather than linked: a program built with clang would
// otherwise need libomp, a second OpenMP runtime beside oneDNN's.
template <class F>
F openmp_function(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

// fastpp's thread count, set on the calling thread before each oneDNN call.
inline void onednn_set_threads(int n) {
  static const auto set = openmp_function<void (*)(int)>("omp_set_num_threads");
  if (set) set(n);
}

// fastpp's compute pool runs its parallel_for chunks on OpenMP's team too (ThreadPool::set_team says why).
// GOMP_parallel is what GCC compiles `#pragma omp parallel num_threads(n)` to.
inline void openmp_team_run(int threads, void (*chunk)(void* ctx, int t, int team), void* ctx) {
  using parallel_fn = void (*)(void (*)(void*), void*, unsigned, unsigned);
  static const auto parallel = openmp_function<parallel_fn>("GOMP_parallel");
  static const auto thread_num = openmp_function<int (*)()>("omp_get_thread_num");
  static const auto num_threads = openmp_function<int (*)()>("omp_get_num_threads");
  struct Job {
    void (*chunk)(void*, int, int);
    void* ctx;
  } job{chunk, ctx};
  parallel([](void* p) {
    const auto& j = *static_cast<const Job*>(p);
    j.chunk(j.ctx, thread_num(), num_threads());
  }, &job, static_cast<unsigned>(threads), 0);
}
inline void use_openmp_team_for_compute_pool() {
  static const bool done = [] {
    if (openmp_function<void*>("GOMP_parallel") && openmp_function<void*>("omp_get_thread_num") &&
        openmp_function<void*>("omp_get_num_threads"))
      compute_pool().set_team(&openmp_team_run);
    return true;
  }();
  (void)done;
}

inline const dnnl::engine& onednn_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}
// Streams are not to be shared between threads: one per calling thread.
inline dnnl::stream& onednn_stream() {
  thread_local dnnl::stream stream(onednn_engine());
  return stream;
}

// One convolution's primitives for one geometry (and thread count: oneDNN splits its work when a primitive
// is made). The backward ones are made on the first backward call, so inference never pays for them.
class OnednnConv {
 public:
  OnednnConv(const ConvGeom& g, bool bias) : geom_(g), bias_(bias), threads_(get_num_threads()) {
    use_openmp_team_for_compute_pool();
    using dims = dnnl::memory::dims;
    using tag = dnnl::memory::format_tag;
    const auto f32 = dnnl::memory::data_type::f32;
    onednn_set_threads(threads_);
    src_ = dnnl::memory::desc(dims{g.n, g.cin, g.h, g.w}, f32, tag::nhwc);
    dst_ = dnnl::memory::desc(dims{g.n, g.cout, g.ho(), g.wo()}, f32, tag::nhwc);
    // fastpp's OHWI weight [cout, kh, kw, cin/groups]; grouped, the same bytes are [groups, cout/g, kh, kw, cg].
    const dims wdims = g.groups == 1 ? dims{g.cout, g.cin, g.kh, g.kw} : dims{g.groups, g.cog(), g.cg(), g.kh, g.kw};
    weight_user_ = dnnl::memory::desc(wdims, f32, g.groups == 1 ? tag::ohwi : tag::gohwi);
    weight_any_ = dnnl::memory::desc(wdims, f32, tag::any);
    bias_md_ = dnnl::memory::desc(dims{g.cout}, f32, tag::x);
    strides_ = {g.stride, g.stride};
    dilates_ = {g.dil - 1, g.dil - 1};
    pad_l_ = {g.pad, g.pad};
    // The right padding that gives fastpp's output size (the left one, or less where the stride skips it).
    pad_r_ = {(g.ho() - 1) * g.stride + g.dil * (g.kh - 1) + 1 - g.h - g.pad,
              (g.wo() - 1) * g.stride + g.dil * (g.kw - 1) + 1 - g.w - g.pad};
    const auto desc = bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                             dnnl::algorithm::convolution_direct, src_, weight_any_,
                                                             bias_md_, dst_, strides_, dilates_, pad_l_, pad_r_)
                           : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                             dnnl::algorithm::convolution_direct, src_, weight_any_,
                                                             dst_, strides_, dilates_, pad_l_, pad_r_);
    fwd_pd_ = dnnl::convolution_forward::primitive_desc(desc, onednn_engine());
    fwd_ = dnnl::convolution_forward(fwd_pd_);
  }

  // Usable for this call: the same geometry and thread count as when it was made.
  bool fits(const ConvGeom& g) const {
    return threads_ == get_num_threads() && g.n == geom_.n && g.h == geom_.h && g.w == geom_.w &&
           g.cin == geom_.cin && g.cout == geom_.cout && g.kh == geom_.kh && g.kw == geom_.kw &&
           g.stride == geom_.stride && g.pad == geom_.pad && g.dil == geom_.dil && g.groups == geom_.groups;
  }

  // y = conv(x, w) + bias.
  void forward(const float* x, const float* w, const float* bias, float* y) {
    onednn_set_threads(threads_);
    auto& s = onednn_stream();
    const auto weights = weights_for(fwd_pd_.weights_desc(), w, fwd_weights_);
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, memory(src_, x)},
                                               {DNNL_ARG_WEIGHTS, weights},
                                               {DNNL_ARG_DST, memory(dst_, y)}};
    if (bias_) args.emplace(DNNL_ARG_BIAS, memory(bias_md_, bias));
    fwd_.execute(s, args);
    s.wait();
  }

  // dw += dL/dw (when dw), dx = dL/dx (when dx).
  void backward(const float* x, const float* w, const float* dy, float* dw, float* dx) {
    onednn_set_threads(threads_);
    auto& s = onednn_stream();
    if (dw) {
      if (!bwd_weights_) make_backward_weights();
      bwd_weights_->execute(s, {{DNNL_ARG_SRC, memory(src_, x)},
                                {DNNL_ARG_DIFF_DST, memory(dst_, dy)},
                                {DNNL_ARG_DIFF_WEIGHTS, dw_blocked_}});
      auto dw_user = memory(weight_user_, dw);
      add_dw_->execute(s, dw_blocked_, dw_user);
    }
    if (dx) {
      if (!bwd_data_) make_backward_data();
      const auto weights = weights_for(bwd_data_pd_.weights_desc(), w, bwd_data_weights_);
      bwd_data_->execute(s, {{DNNL_ARG_DIFF_SRC, memory(src_, dx)},
                             {DNNL_ARG_WEIGHTS, weights},
                             {DNNL_ARG_DIFF_DST, memory(dst_, dy)}});
    }
    s.wait();
  }

  bool has_bias() const { return bias_; }

 private:
  static dnnl::memory memory(const dnnl::memory::desc& md, const float* p) {
    return dnnl::memory(md, onednn_engine(), const_cast<float*>(p));  // oneDNN only reads inputs
  }

  // A weight in oneDNN's layout and the reorder that writes it, both made on first use and kept: every call
  // reorders the weights (they change every step), and making the reorder each time cost a primitive
  // descriptor per call.
  struct BlockedWeights {
    dnnl::memory memory;
    dnnl::reorder from_user;
  };

  // The weight in the layout `want`: fastpp's own bytes where they already are in it, else reordered into
  // `blocked`.
  dnnl::memory weights_for(const dnnl::memory::desc& want, const float* w, BlockedWeights& blocked) {
    auto user = memory(weight_user_, w);
    if (want == weight_user_) return user;
    if (!blocked.memory) {
      blocked.memory = dnnl::memory(want, onednn_engine());
      blocked.from_user = dnnl::reorder(user, blocked.memory);
    }
    blocked.from_user.execute(onednn_stream(), user, blocked.memory);
    return blocked.memory;
  }

  void make_backward_data() {
    const dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, src_, weight_any_, dst_,
                                                     strides_, dilates_, pad_l_, pad_r_);
    bwd_data_pd_ = dnnl::convolution_backward_data::primitive_desc(desc, onednn_engine(), fwd_pd_);
    bwd_data_ = std::make_unique<dnnl::convolution_backward_data>(bwd_data_pd_);
  }

  void make_backward_weights() {
    const dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, src_, weight_any_,
                                                        dst_, strides_, dilates_, pad_l_, pad_r_);
    const dnnl::convolution_backward_weights::primitive_desc pd(desc, onednn_engine(), fwd_pd_);
    bwd_weights_ = std::make_unique<dnnl::convolution_backward_weights>(pd);
    dw_blocked_ = dnnl::memory(pd.diff_weights_desc(), onednn_engine());
    // The gradient is added to fastpp's (a reorder with a sum), as every fastpp kernel accumulates it.
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(sum);
    const dnnl::reorder::primitive_desc add_pd(onednn_engine(), pd.diff_weights_desc(), onednn_engine(),
                                               weight_user_, attr);
    add_dw_ = std::make_unique<dnnl::reorder>(add_pd);
  }

  ConvGeom geom_;
  bool bias_;
  int threads_;
  dnnl::memory::desc src_, dst_, weight_user_, weight_any_, bias_md_;
  dnnl::memory::dims strides_, dilates_, pad_l_, pad_r_;
  dnnl::convolution_forward::primitive_desc fwd_pd_;
  dnnl::convolution_forward fwd_;
  BlockedWeights fwd_weights_;
  dnnl::convolution_backward_data::primitive_desc bwd_data_pd_;
  std::unique_ptr<dnnl::convolution_backward_data> bwd_data_;
  BlockedWeights bwd_data_weights_;
  std::unique_ptr<dnnl::convolution_backward_weights> bwd_weights_;
  dnnl::memory dw_blocked_;
  std::unique_ptr<dnnl::reorder> add_dw_;
};

// A layer's oneDNN convolution, made on first use and again when the geometry (a smaller last batch) or the
// thread count changes. A copied layer starts without one: the weights' blocked copies inside are scratch
// of the layer that made them.
class OnednnSlot {
 public:
  OnednnSlot() = default;
  OnednnSlot(const OnednnSlot&) {}
  OnednnSlot& operator=(const OnednnSlot&) {
    conv_.reset();
    return *this;
  }
  OnednnSlot(OnednnSlot&&) noexcept = default;
  OnednnSlot& operator=(OnednnSlot&&) noexcept = default;

  OnednnConv& forward(const ConvGeom& g, bool bias) {
    if (!conv_ || !conv_->fits(g) || conv_->has_bias() != bias) conv_ = std::make_unique<OnednnConv>(g, bias);
    return *conv_;
  }
  // The backward reuses the forward's primitives (oneDNN makes the backward ones from them).
  OnednnConv& backward(const ConvGeom& g) {
    if (!conv_ || !conv_->fits(g)) conv_ = std::make_unique<OnednnConv>(g, false);
    return *conv_;
  }

 private:
  std::unique_ptr<OnednnConv> conv_;
};

}  // namespace fastpp::backend::cpu_detail
