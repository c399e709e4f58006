// Convolutions on the GPU through cuDNN's legacy (v7-style) API (declared in backend/cuda/layers.hpp), the
// cpu's contract (backend/cpu/layer_kernels.hpp): NHWC input x[n, h, w, cin], OHWI weights
// w[cout, kh, kw, cin / groups] (cuDNN's filter format CUDNN_TENSOR_NHWC, "KRSC"), NHWC output
// y[n, ho, wo, cout], cross-correlation with the padding, stride, dilation and groups of backend::ConvGeom.
//   forward   y = conv(x, w) + bias                      (bias may be null)
//   backward  dw += dconv/dw, dbias += column sums of dy, dx = dconv/dx   (each may be null)
//
// A ConvPlan holds what one input shape needs: the descriptors, the algorithms and the workspace. It is
// made on a layer's first call and remade when the shape (or the device, or the TF32 setting) changes, so a
// training loop at one batch shape asks cuDNN for algorithms once per layer.
//
// Algorithms: cuDNN's heuristics (cudnnGetConvolution*Algorithm_v7), the first of its ranked list that
// succeeds, as PyTorch does with torch.backends.cudnn.benchmark = False (its default). Not
// cudnnFindConvolution*AlgorithmEx: it times every algorithm on the device (seconds for a ResNet's first
// batch, again for every new shape, such as a smaller last batch), needs scratch outputs (the backward's
// dw accumulates, so Find cannot write into it) and may pick differently from run to run as timings vary.
// The heuristic's choice depends only on the shape, the GPU and the cuDNN version.
//
// Workspace: one block from fastpp's caching allocator per plan (cuda_runtime::allocate), sized by
// cudnnGet*WorkspaceSize for the chosen algorithms and grown when the backward's need more than the forward's;
// released with the plan. The caching allocator makes remaking it on a shape change cheap. An algorithm whose
// workspace finds no room in the device's memory is passed over for the next in cuDNN's ranking.
//
// TF32 (tf32.hpp): allowed by default as in PyTorch (CUDNN_DEFAULT_MATH, which permits TF32 tensor cores on
// Ampere and later), CUDNN_FMA_MATH with FASTPP_CUDA_TF32=0. The math type is the descriptor's, set before the
// heuristics are asked, and whatever math an entry of their list names, cuDNN runs the algorithm under the
// descriptor's (PyTorch likewise sets CUDNN_FMA_MATH over the chosen entry's math type when TF32 is off).
//
// The bias and its gradient use fastpp's own kernels over y as [n * ho * wo, cout] (bias.hpp), the cpu's
// semantics exactly. cuDNN's scaling: beta = 0 never reads the output (so y and dx need no initial values),
// beta = 1 adds (dw).
//
// Half and bfloat16 activations (cuda_kernels::mixed, for mixed_layer_kernels<cuda, A>): the same plans, made
// with the activations' cuDNN type for x, w and y (a plan's dtype is part of its identity, so a layer's plan
// is remade when its activations' type changes), float compute (the convolution descriptor's CUDNN_DATA_FLOAT:
// cuDNN's PSEUDO_HALF / PSEUDO_BFLOAT16 configurations) and CUDNN_TENSOR_OP_MATH (tensor cores). The float
// weights are rounded to A on each call into a buffer the plan keeps (core/half.hpp's rounding, cast.cu). The
// backward's dw is computed by cuDNN in A into a second buffer of the plan (beta = 0) and then added in float
// into the float dw (cast.cu's add_to_float): cuDNN's filter gradient has the activations' type, so dw is
// rounded to A once per call before the float accumulation. dbias: float column sums of the A dy. The bias is
// added to the A output in float and rounded again (a second rounding after cuDNN's, as PyTorch's).
#include <cuda_runtime.h>
#include <cudnn.h>

#include <climits>
#include <cstddef>
#include <fastpp/backend/cuda/cast.hpp>
#include <fastpp/backend/cuda/layers.hpp>
#include <fastpp/core/allocator.hpp>
#include <fastpp/core/error.hpp>
#include <string>

#include "bias.hpp"
#include "check.hpp"
#include "handles.hpp"
#include "lowp.hpp"
#include "stream.hpp"
#include "tf32.hpp"

namespace fastpp::cuda_kernels {

struct ConvPlan {
  // the shape this plan was made for
  backend::ConvGeom g{};
  int device = -1;
  bool tf32 = false;
  cudnnDataType_t dtype = CUDNN_DATA_FLOAT;  // of x, w and y: float, or half or bfloat16 (the mixed entries)

  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

  bool have_forward = false, have_backward = false;
  cudnnConvolutionFwdAlgo_t forward_algo{};
  cudnnConvolutionBwdDataAlgo_t data_algo{};
  cudnnConvolutionBwdFilterAlgo_t filter_algo{};
  std::size_t forward_bytes = 0, data_bytes = 0, filter_bytes = 0;

  void* workspace = nullptr;
  std::size_t workspace_bytes = 0;

  // The mixed entries only: the weights rounded to dtype, and the filter gradient in dtype (each made on first use).
  void* weights = nullptr;
  void* weight_grad = nullptr;

  ConvPlan() = default;
  ConvPlan(const ConvPlan&) = delete;
  ConvPlan& operator=(const ConvPlan&) = delete;
  // Unchecked: called from noexcept code, and after a fault every call fails (the next checked one reports it).
  ~ConvPlan() {
    if (x != nullptr) (void)cudnnDestroyTensorDescriptor(x);
    if (y != nullptr) (void)cudnnDestroyTensorDescriptor(y);
    if (w != nullptr) (void)cudnnDestroyFilterDescriptor(w);
    if (conv != nullptr) (void)cudnnDestroyConvolutionDescriptor(conv);
    cuda_runtime::release(workspace);
    cuda_runtime::release(weights);
    cuda_runtime::release(weight_grad);
  }
};

void destroy_conv_plan(ConvPlan* plan) noexcept { delete plan; }

namespace {

using backend::ConvGeom;

bool same_shape(const ConvGeom& a, const ConvGeom& b) {
  return a.n == b.n && a.h == b.h && a.w == b.w && a.cin == b.cin && a.cout == b.cout && a.kh == b.kh &&
         a.kw == b.kw && a.stride == b.stride && a.pad == b.pad && a.dil == b.dil && a.groups == b.groups;
}

std::string describe(const ConvGeom& g) {
  auto s = [](i64 v) { return std::to_string(v); };
  return "input [" + s(g.n) + ", " + s(g.h) + ", " + s(g.w) + ", " + s(g.cin) + "], " + s(g.cout) + " outputs, " +
         s(g.kh) + "x" + s(g.kw) + " kernel, stride " + s(g.stride) + ", padding " + s(g.pad) + ", dilation " +
         s(g.dil) + ", groups " + s(g.groups);
}

int to_int(i64 v, const ConvGeom& g) {
  if (v < 0 || v > INT_MAX) throw Error("cuda conv2d: a size beyond cuDNN's int range (" + describe(g) + ")");
  return static_cast<int>(v);
}

void validate(const ConvGeom& g) {
  const bool ok = g.n >= 1 && g.h >= 1 && g.w >= 1 && g.cin >= 1 && g.cout >= 1 && g.kh >= 1 && g.kw >= 1 &&
                  g.stride >= 1 && g.pad >= 0 && g.dil >= 1 && g.groups >= 1 && g.cin % g.groups == 0 &&
                  g.cout % g.groups == 0 && g.ho() >= 1 && g.wo() >= 1;
  if (!ok) throw Error("cuda conv2d: not a valid convolution: " + describe(g));
}

int current_device() {
  int device = 0;
  FASTPP_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

// A new plan's descriptors for g (no algorithms yet), for x, w and y of cuDNN type dtype (float compute).
ConvPlan* make_plan(const ConvGeom& g, int device, bool tf32, cudnnDataType_t dtype) {
  auto* p = new ConvPlan();
  try {
    p->g = g;
    p->device = device;
    p->tf32 = tf32;
    p->dtype = dtype;
    const int n = to_int(g.n, g), h = to_int(g.h, g), w = to_int(g.w, g), cin = to_int(g.cin, g);
    const int cout = to_int(g.cout, g), kh = to_int(g.kh, g), kw = to_int(g.kw, g), cg = to_int(g.cg(), g);
    const int ho = to_int(g.ho(), g), wo = to_int(g.wo(), g);
    const int pad = to_int(g.pad, g), stride = to_int(g.stride, g), dil = to_int(g.dil, g);
    FASTPP_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->x));
    FASTPP_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->y));
    FASTPP_CUDNN_CHECK(cudnnCreateFilterDescriptor(&p->w));
    FASTPP_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p->conv));
    // dimensions in N, C, H, W order whatever the format; the format gives the memory order
    FASTPP_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NHWC, dtype, n, cin, h, w));
    FASTPP_CUDNN_CHECK(cudnnSetFilter4dDescriptor(p->w, dtype, CUDNN_TENSOR_NHWC, cout, cg, kh, kw));
    FASTPP_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(p->conv, pad, pad, stride, stride, dil, dil,
                                                       CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    FASTPP_CUDNN_CHECK(cudnnSetConvolutionGroupCount(p->conv, to_int(g.groups, g)));
    // float: TF32 as tf32.hpp says; half and bfloat16: tensor cores
    const cudnnMathType_t math = dtype != CUDNN_DATA_FLOAT ? CUDNN_TENSOR_OP_MATH
                                 : tf32                    ? CUDNN_DEFAULT_MATH
                                                           : CUDNN_FMA_MATH;
    FASTPP_CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, math));
    int on = 0, oc = 0, oh = 0, ow = 0;
    FASTPP_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(p->conv, p->x, p->w, &on, &oc, &oh, &ow));
    if (on != n || oc != cout || oh != ho || ow != wo) {
      throw Error("cuda conv2d: cuDNN's output shape [" + std::to_string(on) + ", " + std::to_string(oh) + ", " +
                  std::to_string(ow) + ", " + std::to_string(oc) + "] is not fastpp's [" + std::to_string(n) + ", " +
                  std::to_string(ho) + ", " + std::to_string(wo) + ", " + std::to_string(cout) + "] (" +
                  describe(g) + ")");
    }
    FASTPP_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NHWC, dtype, n, cout, ho, wo));
  } catch (...) {
    delete p;
    throw;
  }
  return p;
}

// The layer's plan for g on this device, TF32 setting and data type: kept when it matches, else a new one. The
// new plan is made before the old is destroyed, so a remade plan never has the old one's address.
ConvPlan& plan_for(const ConvGeom& g, ConvPlan*& plan, cudnnDataType_t dtype) {
  validate(g);
  const int device = current_device();
  const bool tf32 = cuda_runtime::conv_tf32();
  if (plan != nullptr && plan->device == device && plan->tf32 == tf32 && plan->dtype == dtype &&
      same_shape(plan->g, g)) {
    return *plan;
  }
  ConvPlan* fresh = make_plan(g, device, tf32, dtype);
  destroy_conv_plan(plan);
  plan = fresh;
  return *plan;
}

// Makes the workspace at least `bytes` (its old contents are not kept). The new block is taken before the
// old is given back, so a failure (no room) leaves the plan's workspace as it was.
void reserve(ConvPlan& p, std::size_t bytes) {
  if (bytes <= p.workspace_bytes) return;
  void* const bigger = cuda_runtime::allocate(bytes);
  cuda_runtime::release(p.workspace);
  p.workspace = bigger;
  p.workspace_bytes = bytes;
}

// The first entry of cuDNN's ranked list that it can run, whose workspace cuDNN can size for the algorithm as configured (`size(algo, &bytes)`, a
// cudnnGet*WorkspaceSize call: the list's own figure may differ) and whose workspace fits in the device's
// memory: an entry cuDNN will not size, or whose workspace the caching allocator cannot find room for, is
// passed over for the next (as PyTorch does), down to the algorithms that need no workspace.
template <class Perf, class Algo, class Size>
void choose(ConvPlan& p, const Perf* perf, int count, const char* which, Size size, Algo& algo, std::size_t& bytes) {
  cudnnStatus_t refused = CUDNN_STATUS_SUCCESS;
  std::string no_room;
  for (int i = 0; i < count; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
    std::size_t need = 0;
    const cudnnStatus_t st = size(perf[i].algo, &need);
    if (st != CUDNN_STATUS_SUCCESS) {
      refused = st;
      continue;
    }
    try {
      reserve(p, need);
    } catch (const Error& e) {
      if (std::string(e.what()).find("out of device memory") == std::string::npos) throw;
      no_room = e.what();
      continue;
    }
    algo = perf[i].algo;
    bytes = need;
    return;
  }
  std::string why = std::string("cuda conv2d: cuDNN offers no ") + which + " algorithm for " + describe(p.g) +
                    (p.dtype == CUDNN_DATA_HALF       ? " in half"
                     : p.dtype == CUDNN_DATA_BFLOAT16 ? " in bfloat16"
                     : p.tf32                         ? ""
                                                      : " without TF32 (FASTPP_CUDA_TF32=0)") +
                    " among its " + std::to_string(count) +
                    " candidates";
  if (refused != CUDNN_STATUS_SUCCESS) why += std::string("; a workspace query: ") + cudnnGetErrorString(refused);
  if (!no_room.empty()) why += "; a workspace: " + no_room;
  throw Error(why);
}

void choose_forward(ConvPlan& p, cudnnHandle_t h) {
  if (p.have_forward) return;
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int count = 0;
  FASTPP_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, p.x, p.w, p.conv, p.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                            &count, perf));
  choose(
      p, perf, count, "forward",
      [&](cudnnConvolutionFwdAlgo_t a, std::size_t* b) {
        return cudnnGetConvolutionForwardWorkspaceSize(h, p.x, p.w, p.conv, p.y, a, b);
      },
      p.forward_algo, p.forward_bytes);
  p.have_forward = true;
}

void choose_backward(ConvPlan& p, cudnnHandle_t h) {
  if (p.have_backward) return;
  cudnnConvolutionBwdDataAlgoPerf_t data[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
  int count = 0;
  FASTPP_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p.w, p.y, p.conv, p.x,
                                                                 CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, data));
  choose(
      p, data, count, "backward-data",
      [&](cudnnConvolutionBwdDataAlgo_t a, std::size_t* b) {
        return cudnnGetConvolutionBackwardDataWorkspaceSize(h, p.w, p.y, p.conv, p.x, a, b);
      },
      p.data_algo, p.data_bytes);
  cudnnConvolutionBwdFilterAlgoPerf_t filter[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  count = 0;
  FASTPP_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
      h, p.x, p.y, p.conv, p.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, filter));
  choose(
      p, filter, count, "backward-filter",
      [&](cudnnConvolutionBwdFilterAlgo_t a, std::size_t* b) {
        return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p.x, p.y, p.conv, p.w, a, b);
      },
      p.filter_algo, p.filter_bytes);
  p.have_backward = true;
}

}  // namespace

void conv2d_forward(const float* x, const float* w, const float* bias, const ConvGeom& g, float* y,
                    ConvPlan*& plan) {
  ConvPlan& p = plan_for(g, plan, CUDNN_DATA_FLOAT);
  const cudnnHandle_t h = cuda_runtime::cudnn_handle();  // on the current stream
  choose_forward(p, h);
  const float one = 1.0f, zero = 0.0f;
  FASTPP_CUDNN_CHECK(cudnnConvolutionForward(h, &one, p.x, x, p.w, w, p.conv, p.forward_algo, p.workspace,
                                             p.forward_bytes, &zero, p.y, y));
  if (bias != nullptr) bias::add_rows(y, bias, g.n * g.ho() * g.wo(), g.cout);
}

void conv2d_backward(const float* x, const float* w, const float* dy, const ConvGeom& g, float* dw, float* dbias,
                     float* dx, ConvPlan*& plan) {
  ConvPlan& p = plan_for(g, plan, CUDNN_DATA_FLOAT);
  if (dbias != nullptr) bias::add_column_sums(dy, g.n * g.ho() * g.wo(), g.cout, dbias);
  if (dw == nullptr && dx == nullptr) return;
  const cudnnHandle_t h = cuda_runtime::cudnn_handle();  // on the current stream
  choose_backward(p, h);
  const float one = 1.0f, zero = 0.0f;
  if (dw != nullptr) {  // beta = 1: added to the gradient so far
    FASTPP_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, p.x, x, p.y, dy, p.conv, p.filter_algo, p.workspace,
                                                      p.filter_bytes, &one, p.w, dw));
  }
  if (dx != nullptr) {  // beta = 0: overwritten, never read
    FASTPP_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, p.w, w, p.y, dy, p.conv, p.data_algo, p.workspace,
                                                    p.data_bytes, &zero, p.x, dx));
  }
}

namespace mixed {

namespace {
// The plan's copy of the float weights w rounded to A (made on first use), filled on the current stream.
template <class A>
const A* weights_as(ConvPlan& p, const float* w) {
  const ConvGeom& g = p.g;
  const i64 nw = g.cout * g.kh * g.kw * g.cg();
  if (p.weights == nullptr) p.weights = cuda_runtime::allocate(static_cast<std::size_t>(nw) * sizeof(A));
  from_float(w, nw, static_cast<A*>(p.weights));
  return static_cast<const A*>(p.weights);
}
}  // namespace

template <class A>
void conv2d_forward(const A* x, const float* w, const float* bias, const ConvGeom& g, A* y, ConvPlan*& plan) {
  ConvPlan& p = plan_for(g, plan, lowp_type<A>::dnn);
  const cudnnHandle_t h = cuda_runtime::cudnn_handle();  // on the current stream
  choose_forward(p, h);
  const A* wa = weights_as<A>(p, w);
  const float one = 1.0f, zero = 0.0f;  // float scaling for half and bfloat16 data too
  FASTPP_CUDNN_CHECK(cudnnConvolutionForward(h, &one, p.x, x, p.w, wa, p.conv, p.forward_algo, p.workspace,
                                             p.forward_bytes, &zero, p.y, y));
  if (bias != nullptr) bias::add_rows(y, bias, g.n * g.ho() * g.wo(), g.cout);
}

template <class A>
void conv2d_backward(const A* x, const float* w, const A* dy, const ConvGeom& g, float* dw, float* dbias, A* dx,
                     ConvPlan*& plan) {
  ConvPlan& p = plan_for(g, plan, lowp_type<A>::dnn);
  if (dbias != nullptr) bias::add_column_sums(dy, g.n * g.ho() * g.wo(), g.cout, dbias);
  if (dw == nullptr && dx == nullptr) return;
  const cudnnHandle_t h = cuda_runtime::cudnn_handle();  // on the current stream
  choose_backward(p, h);
  const float one = 1.0f, zero = 0.0f;
  if (dw != nullptr) {  // in A into the plan's buffer (beta = 0), then added in float to the gradient so far
    const i64 nw = g.cout * g.kh * g.kw * g.cg();
    if (p.weight_grad == nullptr) p.weight_grad = cuda_runtime::allocate(static_cast<std::size_t>(nw) * sizeof(A));
    FASTPP_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, p.x, x, p.y, dy, p.conv, p.filter_algo, p.workspace,
                                                      p.filter_bytes, &zero, p.w, p.weight_grad));
    add_to_float(static_cast<const A*>(p.weight_grad), nw, dw);
  }
  if (dx != nullptr) {  // beta = 0: overwritten, never read
    const A* wa = weights_as<A>(p, w);
    FASTPP_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, p.w, wa, p.y, dy, p.conv, p.data_algo, p.workspace,
                                                    p.data_bytes, &zero, p.x, dx));
  }
}

template void conv2d_forward(const half*, const float*, const float*, const ConvGeom&, half*, ConvPlan*&);
template void conv2d_forward(const bfloat16*, const float*, const float*, const ConvGeom&, bfloat16*, ConvPlan*&);
template void conv2d_backward(const half*, const float*, const half*, const ConvGeom&, float*, float*, half*,
                              ConvPlan*&);
template void conv2d_backward(const bfloat16*, const float*, const bfloat16*, const ConvGeom&, float*, float*,
                              bfloat16*, ConvPlan*&);

}  // namespace mixed

}  // namespace fastpp::cuda_kernels
