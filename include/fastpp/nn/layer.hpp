#pragma once
// What every layer shares: the run context, parameters, the Layer concept and layer names.
//
// A layer is a plain class with
//   Tensor<float> forward(Ctx&, const Tensor<float>& x)    x is NHWC [N, H, W, C] or [N, features]
//   Tensor<float> backward(Ctx&, const Tensor<float>& dy)  accumulates parameter grads, returns dx
//   void for_each_param(F&& f, const std::string& prefix)   f(name, Param&) with torchvision names
//   static constexpr std::int64_t in_channels, out_channels (a count, dyn, or any/same_as_input)
// Backward is known from the type: a layer keeps in forward what its backward needs (when ctx.grad),
// so there is no autograd tape.
#include <concepts>
#include <cstdint>
#include <string>
#include <type_traits>

#include "../core/rng.hpp"
#include "../core/tensor.hpp"
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

// How a parameter's value is laid out, so the state dict can convert to PyTorch's layout.
enum class ParamLayout { plain, conv_ohwi };

// A learnable tensor and its gradient, with the bookkeeping fastai's optimizer needs.
struct Param {
  Tensor<float> value;
  Tensor<float> grad;        // same shape; backward adds to it, zero_grad() clears it
  int group = 0;             // parameter group (fastai's layer groups: discriminative lr, freezing)
  bool frozen = false;       // set by freeze_to(): no gradient is computed ...
  bool is_norm = false;      // ... except for normalisation layers' params (fastai's train_bn)
  bool train_bn = true;
  bool is_bias = false;      // biases and norm params get no weight decay in fastai (wd_bn_bias=False)
  ParamLayout layout = ParamLayout::plain;

  explicit Param(const Shape& shape = Shape{1}, bool norm = false, bool bias = false)
      : value(Tensor<float>::zeros(shape)), grad(Tensor<float>::zeros(shape)), is_norm(norm), is_bias(bias) {}
  bool requires_grad() const noexcept { return !frozen || (is_norm && train_bn); }
  void zero_grad() { std::fill(grad.begin(), grad.end(), 0.0f); }
};

// The state that is not learnt but saved (BatchNorm's running statistics and batch counter).
struct BufferRef {
  Tensor<float>* f32 = nullptr;
  std::int64_t* count = nullptr;  // num_batches_tracked: saved as an int64 scalar, as PyTorch does
};

// What Sequential knows at compile time about the tensor flowing between two layers: its channel (or
// feature) count, whether a global pooling made it 1x1, and whether Flatten made it [N, features].
struct Flow {
  std::int64_t channels = any_channels;  // a count, dyn (known only at run time) or any (not yet known)
  bool global = false;                   // spatial size is 1x1 (after AdaptiveXPool2d<1>)
  bool flat = false;                     // rank 2: [N, features]
};

// How a layer changes the flow. A layer may define `static constexpr Flow flow(Flow)`; otherwise its
// out_channels decides and the spatial size is unknown afterwards unless it declares keeps_spatial.
template <class L>
constexpr Flow flow_through(Flow in) {
  if constexpr (requires { L::flow(in); }) {
    return L::flow(in);
  } else {
    Flow out = in;
    out.channels = L::out_channels == same_as_input ? in.channels : L::out_channels;
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
  void operator()(const std::string&, Param&) const {}
};
struct NoOpBufferVisitor {
  void operator()(const std::string&, BufferRef) const {}
};
}  // namespace detail

// A type that can sit in a Sequential: forward and backward over float tensors, parameters visitable by
// name, and the static channel counts that Sequential checks.
template <class L>
concept Layer = requires(L& l, Ctx& ctx, const Tensor<float>& x, detail::NoOpParamVisitor f) {
  { l.forward(ctx, x) } -> std::same_as<Tensor<float>>;
  { l.backward(ctx, x) } -> std::same_as<Tensor<float>>;
  l.for_each_param(f, std::string{});
  { L::in_channels } -> std::convertible_to<std::int64_t>;
  { L::out_channels } -> std::convertible_to<std::int64_t>;
};

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

}  // namespace fastpp::nn
