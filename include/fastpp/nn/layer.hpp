#pragma once
// What every layer shares: the run context, the Layer concept, channel flow and layer names.
//
// A layer is a class over a device D and an activation dtype T (docs/nn.md states the full contract):
//   using device_type = D; using value_type = T;
//   Tensor<T, D> forward(Ctx&, const Tensor<T, D>& x)    x is NHWC [N, H, W, C] or [N, features]
//   Tensor<T, D> backward(Ctx&, const Tensor<T, D>& dy)  accumulates parameter grads, returns dx
//   void for_each_param(F&& f, const std::string& prefix) f(name, ParamOn<D>&) with torchvision names
//   static constexpr std::int64_t in_channels, out_channels (a count, dyn, or any/same_as_input)
//   static constexpr Rank in_rank, out_rank      a 4-D map, a flat [N, features], or either (see Rank)
//   template <class D2, class T2> using on = <the same layer on D2 with T2>
// Backward is known from the type: a layer keeps in forward what its backward needs (when ctx.grad),
// so there is no autograd tape. All arithmetic goes through backend::layer_kernels<D>.
#include <concepts>
#include <cstdint>
#include <string>
#include <type_traits>

#include "../backend/cpu/cast_kernels.hpp"   // the default device's kernels
#include "../backend/cpu/layer_kernels.hpp"
#include "../backend/mixed_layer_kernels.hpp"
#include "../core/rng.hpp"
#include "../core/tensor.hpp"
#include "hooks.hpp"
#include "param.hpp"
#include "text.hpp"

namespace fastpp::nn {

// A width the data decides (e.g. the number of classes): given at construction and checked then.
inline constexpr std::int64_t dyn = -1;
// A layer that accepts any number of channels (ReLU, pools, Dropout) ...
inline constexpr std::int64_t any_channels = -2;
// ... and gives back as many as it received.
inline constexpr std::int64_t same_as_input = -3;

// The run context handed to every forward and backward call.
struct Ctx {
  bool training = true;  // BatchNorm uses batch statistics and Dropout drops, as model.train() in PyTorch
  bool grad = true;      // layers keep what backward needs; false for inference (no memory kept)
  Rng rng{0};            // Dropout draws its masks from forks of this generator
  std::uint64_t next_stream = 0;
  // Whether the caller uses the gradient of the input that backward returns. The Learner does not (the images
  // need none), so a network's first convolution skips its input gradient (for ResNet's 7x7 stem, a GEMM
  // and a col2im over the largest columns of the network) and returns an undefined tensor; a Sequential
  // stops going down where nothing below trains. Layers may ignore it and return the gradient anyway.
  bool input_grad = true;
  // A data-parallel run's hooks (hooks.hpp): gradients reported as backward makes them final, BatchNorm's
  // statistics summed over the processes. Null in a single process.
  ParallelHooks parallel{};

  static Ctx train(std::uint64_t seed = 0) { return Ctx{true, true, Rng(seed), 0}; }
  static Ctx eval() { return Ctx{false, false, Rng(0), 0}; }
  // A fresh independent stream for one random draw (one Dropout call).
  Rng fork() { return rng.fork(next_stream++); }
};

namespace detail {
template <class E, class... Parts>
[[noreturn, gnu::noinline, gnu::cold]] void raise(const Parts&... parts) {
  throw E(fastpp::detail::msg(parts...));
}
}  // namespace detail

// Like fastpp::check, but the message is built out of line: layers have many checks, and inlining the
// message-building code into each layer type made a ResNet's compile time grow with its layer count.
template <class E = ValueError, class... Parts>
inline void require(bool cond, const Parts&... parts) {
  if (!cond) [[unlikely]] detail::raise<E>(parts...);
}

// What a layer needs at construction: a random stream for its initial weights, and the widths the data
// decides (the output width of every Linear<In, dyn>, e.g. the number of classes).
struct Build {
  Rng rng{0};
  std::int64_t out_features = dyn;
};

// The rank of the tensor between two layers, carried in the type as the channel count is:
//   map   a 4-D NHWC feature map [N, H, W, C] (Conv2d, BatchNorm2d, the pools take and give one)
//   flat  a 2-D [N, features] tensor (Linear and BatchNorm1d take and give one; Flatten gives one)
//   any   as a layer's in_rank: takes either (ReLU, Dropout, Identity, Flatten); in a flow: not known
//         (the input of a Sequential); as an out_rank: not known before run time (AnyModel)
//   same_as_input  as an out_rank only: gives the rank it received (ReLU, Dropout, Identity)
enum class Rank { any, map, flat, same_as_input };

// A layer's declared ranks; a layer written outside fastpp without them takes either and gives what
// it received, so it is never refused for its rank.
template <class L>
constexpr Rank in_rank_of() {
  if constexpr (requires { L::in_rank; }) return L::in_rank;
  else return Rank::any;
}
template <class L>
constexpr Rank out_rank_of() {
  if constexpr (requires { L::out_rank; }) return L::out_rank;
  else return Rank::same_as_input;
}

// What Sequential knows at compile time about the tensor flowing between two layers: its channel (or
// feature) count, whether a global pooling made it 1x1, and its rank.
struct Flow {
  std::int64_t channels = any_channels;  // a count, dyn (known only at run time) or any (not yet known)
  bool global = false;                   // spatial size is 1x1 (after AdaptiveXPool2d<1>)
  Rank rank = Rank::any;                 // map, flat, or any (not known)
};

// How a layer changes the flow. A layer may define `static constexpr Flow flow(Flow)`; otherwise its
// out_channels and out_rank decide, and the spatial size is unknown afterwards unless it declares
// keeps_spatial.
template <class L>
constexpr Flow flow_through(Flow in) {
  if constexpr (requires { L::flow(in); }) {
    return L::flow(in);
  } else {
    Flow out = in;
    out.channels = L::out_channels == same_as_input ? in.channels : L::out_channels;
    out.rank = out_rank_of<L>() == Rank::same_as_input ? in.rank : out_rank_of<L>();
    if constexpr (requires { L::keeps_spatial; }) {
      if (!L::keeps_spatial) out.global = false;
    } else {
      out.global = false;
    }
    return out;
  }
}

// A layer's readable name for compile-time messages: L::type_name() when it has one.
template <class L>
constexpr text layer_name() {
  if constexpr (requires { L::type_name(); }) return L::type_name();
  else return text("a layer");
}

// A channel count as people write it.
constexpr text channels_text(std::int64_t c) {
  if (c == dyn) return text("dyn");
  if (c == any_channels) return text("any");
  return to_text(c);
}

namespace detail {
struct NoOpParamVisitor {
  template <class P>
  void operator()(const std::string&, P&) const {}
};
}  // namespace detail

// A layer's activations are float, or half or bfloat16 with float parameters (mixed precision:
// backend/mixed_layer_kernels.hpp).
template <class T>
inline constexpr bool layer_dtype_supported = std::is_same_v<T, float> || backend::is_low_precision_v<T>;

// Checked by every layer template: a sentence instead of a failure deep inside a kernel call.
template <class D, class T>
struct layer_types_ok {
  static_assert(is_device_v<D>, "a layer's device must be a device tag such as fastpp::cpu (see core/device.hpp)");
  static_assert(layer_dtype_supported<T>,
                "a layer's activations are float, half or bfloat16 (its parameters are float in every case)");
  static constexpr bool ok = true;
};

// A type that can sit in a Sequential: forward and backward over tensors of its device and dtype,
// parameters visitable by name, the static channel counts that Sequential checks, and `on` to rebuild
// it for another device.
template <class L>
concept Layer = requires { typename L::device_type; typename L::value_type; } &&
    requires(L& l, Ctx& ctx, const Tensor<typename L::value_type, typename L::device_type>& x,
             detail::NoOpParamVisitor f) {
      { l.forward(ctx, x) } -> std::same_as<Tensor<typename L::value_type, typename L::device_type>>;
      { l.backward(ctx, x) } -> std::same_as<Tensor<typename L::value_type, typename L::device_type>>;
      l.for_each_param(f, std::string{});
      { L::in_channels } -> std::convertible_to<std::int64_t>;
      { L::out_channels } -> std::convertible_to<std::int64_t>;
    };

// True for a layer type whose own static_assert already refused its template arguments (Dropout<0.5>):
// clang then sees an invalid class, which is no Layer, and Sequential adds no second message about it.
template <class L>
inline constexpr bool refused_its_arguments = false;

// The same network built for another device and dtype: on_device_t<Net, fastpp::cuda>. Every layer
// names its rebuilt self as `on<D, T>`; Sequential, Named and Residual rebuild their children.
template <class L, class D, class T = float>
using on_device_t = typename L::template on<D, T>;

// Backward needs what forward kept: a layer checks both, by name, before touching memory.
inline void require_forward_ran(bool kept, std::string_view layer) {
  require<ValueError>(kept, layer, ": backward without a forward that kept what it needs (run forward first, "
                                   "with ctx.grad = true)");
}
inline void require_grad_shape(const Shape& dy, const Shape& out, std::string_view layer) {
  require<ShapeError>(dy == out, layer, ": the gradient has shape ", dy, " but the forward output had shape ", out);
}

// Layers without parameters or buffers inherit these.
struct NoParams {
  template <class F>
  void for_each_param(F&&, const std::string& = {}) {}
  template <class F>
  void for_each_buffer(F&&, const std::string& = {}) {}
};

// Visits buffers when the layer has any.
template <class L, class F>
void visit_buffers(L& l, F&& f, const std::string& prefix) {
  if constexpr (requires { l.for_each_buffer(f, prefix); }) l.for_each_buffer(f, prefix);
}

// A container that reports its own children's gradients to ctx.parallel.grad_ready (Sequential, Residual
// and a Named one of them), so the container above it reports none of them again.
template <class L>
inline constexpr bool reports_child_grads = requires { L::reports_child_grads; };

// Called by a container after child l's backward: l's trainable gradients are final (hooks.hpp). Costs a
// null test when no data-parallel run listens.
template <class L>
void report_grads(Ctx& ctx, L& l) {
  GradReady* const hook = ctx.parallel.grad_ready;
  if (!hook) return;
  if constexpr (!reports_child_grads<L>) {
    l.for_each_param(
        [&](const std::string&, auto& p) {
          if (p.requires_grad()) hook->grad_ready(p.grad.data());
        },
        std::string{});
  }
  hook->layer_done();
}

}  // namespace fastpp::nn
