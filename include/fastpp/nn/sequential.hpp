#pragma once
// Sequential<L...>: layers in a std::tuple, run front to back by a fold expression and back to front
// for backward. At compile time it checks that each layer's input channels (or a Linear's input
// features) equal what the layers before it produce; the compiler's note names both layers and both
// numbers. Children are named "0", "1", ... as in torch.nn.Sequential, or by Named<"conv1", L>.
#include <array>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>

#include "layer.hpp"

namespace fastpp::nn {

// A child with a name of its own, as a torch module attribute: Named<"conv1", Conv2d<3, 64>>.
template <text Name, class L>
struct Named : L {
  using L::L;
  Named() = default;
  static constexpr text child_name = Name;
  template <class D2, class T2>
  using on = Named<Name, typename L::template on<D2, T2>>;
};

namespace detail {

template <class L>
std::string child_name(std::size_t index) {
  if constexpr (requires { L::child_name; }) return L::child_name.str();
  else return std::to_string(index);
}

// Always false; its template argument is the sentence the compiler prints when a check fails (g++
// shows it verbatim in the note under the static_assert).
template <text Sentence>
struct explanation {
  static constexpr bool holds = false;
};

// Instantiated for each neighbouring pair; fails, naming both layers and both counts, when they disagree.
template <class Before, class After, std::int64_t Produced, std::int64_t Expected, bool Flat>
struct channels_must_match {
  static constexpr bool known = Produced > 0 && Expected > 0;
  static constexpr text sentence = layer_name<After>() + text(" follows ") + layer_name<Before>() +
                                   (Flat ? text(" whose output has ") : text(" with ")) + to_text(Produced) +
                                   (Flat ? text(" features") : text(" output channels"));
  static_assert(Flat || !known || Produced == Expected || explanation<sentence>::holds,
                "Sequential: a layer's input channels must equal the previous layer's output channels "
                "(the note below names both layers and both numbers)");
  static_assert(!Flat || !known || Produced == Expected || explanation<sentence>::holds,
                "Sequential: a Linear's input width must equal the globally pooled feature count before it "
                "(the note below names both layers and both numbers)");
  static constexpr bool ok = true;
};

template <class T>
struct must_be_a_layer {
  static_assert(Layer<T>,
                "Sequential takes layers only: each argument needs device_type, value_type, forward(ctx, x), "
                "backward(ctx, dy), for_each_param(f, prefix) and static in_channels/out_channels (see "
                "fastpp::nn::Layer and docs/nn.md)");
  static constexpr bool ok = true;
};

template <class D>
constexpr text device_text() {
  text t;
  for (char ch : device_name<D>)
    if (t.n < text::capacity) t.s[t.n++] = ch;
  return t;
}

// A layer's device and dtype; a non-layer (reported by must_be_a_layer) counts as cpu/float so that
// only the one message appears.
template <class L>
struct layer_device {
  using device = fastpp::cpu;
  using dtype = float;
};
template <class L>
  requires requires { typename L::device_type; typename L::value_type; }
struct layer_device<L> {
  using device = typename L::device_type;
  using dtype = typename L::value_type;
};

// Instantiated for each neighbouring pair; fails, naming both layers and their devices, when a network
// mixes devices or dtypes (a cpu layer cannot read a cuda activation).
template <class Before, class After>
struct devices_must_match {
  using before = layer_device<Before>;
  using after = layer_device<After>;
  static constexpr bool same_device = std::is_same_v<typename before::device, typename after::device>;
  static constexpr bool same_dtype = std::is_same_v<typename before::dtype, typename after::dtype>;
  static constexpr text sentence = layer_name<After>() + text(" on ") + device_text<typename after::device>() +
                                   text(" follows ") + layer_name<Before>() + text(" on ") +
                                   device_text<typename before::device>();
  static_assert(same_device || explanation<sentence>::holds,
                "Sequential: every layer of a network must run on the same device: write the network once for "
                "the cpu and build it for another device with nn::on_device_t<Net, Device> (the note below "
                "names both layers)");
  static_assert(same_dtype || explanation<sentence>::holds,
                "Sequential: every layer of a network must use the same activation dtype: build the whole "
                "network with nn::on_device_t<Net, Device, DType> (the note below names both layers)");
  static constexpr bool ok = true;
};

template <class L>
L make_layer(Build& b) {
  if constexpr (std::is_constructible_v<L, Build&>) return L(b);
  else return L{};
}

struct SequentialInput {
  static constexpr text type_name() { return text("the input"); }
};

template <class... L>
using first_of = layer_device<std::tuple_element_t<0, std::tuple<L...>>>;

}  // namespace detail

template <class... L>
class Sequential {
  static_assert(sizeof...(L) > 0, "Sequential needs at least one layer");
  static constexpr bool all_layers = (detail::must_be_a_layer<L>::ok && ...);

 public:
  static constexpr std::size_t size = sizeof...(L);
  using layers_type = std::tuple<L...>;
  template <std::size_t I>
  using layer_type = std::tuple_element_t<I, layers_type>;
  using device_type = typename detail::first_of<L...>::device;
  using value_type = typename detail::first_of<L...>::dtype;
  template <class D2, class T2>
  using on = Sequential<typename L::template on<D2, T2>...>;

  // The flow through the layers, starting from `in` (so a nested Sequential is checked against what
  // comes before it).
  static constexpr Flow flow(Flow in) {
    ((in = flow_through<L>(in)), ...);
    return in;
  }
  static constexpr std::int64_t in_channels = layer_type<0>::in_channels;
  static constexpr std::int64_t out_channels = [] {
    const Flow f = flow(Flow{in_channels == any_channels ? any_channels : in_channels, false, false});
    return f.channels == any_channels ? same_as_input : f.channels;
  }();
  static constexpr text type_name() { return text("Sequential"); }

 private:
  // flows[i] is what reaches layer i (from a Sequential input of unknown width).
  static constexpr std::array<Flow, size + 1> flows = [] {
    std::array<Flow, size + 1> f{};
    f[0] = Flow{};
    std::size_t i = 0;
    ((f[i + 1] = flow_through<L>(f[i]), ++i), ...);
    return f;
  }();
  template <std::size_t... I>
  static constexpr bool check_neighbours(std::index_sequence<I...>) {
    return (detail::channels_must_match<std::conditional_t<I == 0, detail::SequentialInput, layer_type<I - (I > 0)>>,
                                        layer_type<I>, flows[I].channels, layer_type<I>::in_channels,
                                        flows[I].flat>::ok &&
            ...);
  }
  template <std::size_t... I>
  static constexpr bool check_devices(std::index_sequence<I...>) {
    return (detail::devices_must_match<layer_type<I - (I > 0)>, layer_type<I>>::ok && ...);
  }
  static_assert(all_layers);  // each failure was reported, with its type, by detail::must_be_a_layer
  static_assert(check_devices(std::make_index_sequence<size>{}));     // likewise devices_must_match
  static_assert(check_neighbours(std::make_index_sequence<size>{}));  // likewise channels_must_match

 public:
  Sequential() : Sequential(Build{}) {}
  explicit Sequential(Build& b) : layers_{detail::make_layer<L>(b)...} {}
  explicit Sequential(Build&& b) : Sequential(b) {}

  template <std::size_t I>
  auto& get() noexcept {
    return std::get<I>(layers_);
  }
  template <std::size_t I>
  const auto& get() const noexcept {
    return std::get<I>(layers_);
  }

  // The output shape for an input shape, checking every layer on the way; the error names the layer
  // and the shapes (used to check at construction what depends on the image size).
  Shape out_shape(Shape s) const {
    std::apply([&](const auto&... l) { ((s = l.out_shape(s)), ...); }, layers_);
    return s;
  }

  Tensor<value_type, device_type> forward(Ctx& ctx, const Tensor<value_type, device_type>& x) {
    Tensor<value_type, device_type> y = x;  // a second handle: the first layer never works in place on the caller's tensor
    std::apply([&](auto&... l) { ((y = l.forward(ctx, std::move(y))), ...); }, layers_);
    return y;
  }
  Tensor<value_type, device_type> backward(Ctx& ctx, const Tensor<value_type, device_type>& dy) {
    Tensor<value_type, device_type> d = dy;
    backward_from<size>(ctx, d, std::make_index_sequence<size>{});
    return d;
  }

  template <class F>
  void for_each_param(F&& f, const std::string& prefix = {}) {
    for_each_child([&](auto& l, const std::string& name) { l.for_each_param(f, prefix + name + "."); });
  }
  template <class F>
  void for_each_buffer(F&& f, const std::string& prefix = {}) {
    for_each_child([&](auto& l, const std::string& name) { visit_buffers(l, f, prefix + name + "."); });
  }
  // f(layer, name) for each direct child, in order.
  template <class F>
  void for_each_child(F&& f) {
    for_each_child_impl(f, std::make_index_sequence<size>{});
  }

 private:
  template <std::size_t N, std::size_t... I>
  void backward_from(Ctx& ctx, Tensor<value_type, device_type>& d, std::index_sequence<I...>) {
    ((d = std::get<N - 1 - I>(layers_).backward(ctx, std::move(d))), ...);
  }
  template <class F, std::size_t... I>
  void for_each_child_impl(F& f, std::index_sequence<I...>) {
    (f(std::get<I>(layers_), detail::child_name<layer_type<I>>(I)), ...);
  }
  std::tuple<L...> layers_;
};

// Builds a network and checks it against an input shape now, rather than at the first batch: where a
// width depends on the image size (a Flatten of a feature map feeding a Linear), a mismatch is a
// ShapeError naming the layer and the shapes.
template <class Net>
Net build_for_input(const Shape& input, Build b = {}) {
  Net net(b);
  net.out_shape(input);
  return net;
}

}  // namespace fastpp::nn
