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

// clang 14 prints a text template argument as character codes, but it prints nested template names and
// layer types as written. So for clang each sentence is spelled as names, e.g.
//   the_layer<BatchNorm2d<32>>::follows<ReLUOn<>>::with_output_channels<64>::holds
// FASTPP_NN_EXPLAIN(sentence, names) is the term a check adds to its static_assert condition: always
// false, it makes the compiler print the sentence (g++) or the names (clang) beside the message.
#if defined(__clang__)
#define FASTPP_NN_EXPLAIN(sentence, ...) __VA_ARGS__
#else
#define FASTPP_NN_EXPLAIN(sentence, ...) ::fastpp::nn::detail::explanation<sentence>::holds
#endif

template <class Layer>
struct the_layer {
  template <class Before>
  struct follows {
    template <std::int64_t Channels>
    struct with_output_channels {
      static constexpr bool holds = false;
    };
    template <std::int64_t Features>
    struct whose_output_has_features {
      static constexpr bool holds = false;
    };
    struct which_gives_a_4D_map {
      static constexpr bool holds = false;
    };
    struct which_gives_a_flat_tensor {
      static constexpr bool holds = false;
    };
    struct on_another_device {
      static constexpr bool holds = false;
    };
    struct with_another_dtype {
      static constexpr bool holds = false;
    };
  };
};
template <class Layer>
struct put_a_Flatten_before {
  template <class Before>
  struct which_follows {
    static constexpr bool holds = false;
  };
};

// Instantiated for each neighbouring pair whose ranks agree; fails, naming both layers and both counts,
// when the channel counts disagree.
template <class Before, class After, std::int64_t Produced, std::int64_t Expected, bool Flat>
struct channels_must_match {
  static constexpr bool fits = Produced <= 0 || Expected <= 0 || Produced == Expected;
  static constexpr text sentence = layer_name<After>() + text(" follows ") + layer_name<Before>() +
                                   (Flat ? text(" whose output has ") : text(" with ")) + to_text(Produced) +
                                   (Flat ? text(" features") : text(" output channels"));
  static_assert(Flat || fits ||
                    FASTPP_NN_EXPLAIN(sentence, the_layer<After>::template follows<
                                                    Before>::template with_output_channels<Produced>::holds),
                "Sequential: a layer's input channels must equal the previous layer's output channels "
                "(both layers and both numbers are named beside this message)");
  static_assert(!Flat || fits ||
                    FASTPP_NN_EXPLAIN(sentence, the_layer<After>::template follows<
                                                    Before>::template whose_output_has_features<Produced>::holds),
                "Sequential: a Linear's input width must equal the globally pooled feature count before it "
                "(both layers and both numbers are named beside this message)");
  static constexpr bool ok = true;
};

// 1 for BatchNorm1d, 2 for BatchNorm2d, 0 for other layers: they get a message of their own, which names
// their twin.
template <class L>
constexpr int batchnorm_dims() {
  if constexpr (requires { L::batchnorm_dims; }) return L::batchnorm_dims;
  else return 0;
}

// Instantiated for each neighbouring pair; fails, naming both layers and the fix, when a layer that takes
// a flat [N, features] tensor follows one that gives a 4-D map, or the other way round.
template <class Before, class After, Rank Got, Rank Takes>
struct ranks_must_match {
  static constexpr bool map_into_flat = Got == Rank::map && Takes == Rank::flat;
  static constexpr bool flat_into_map = Got == Rank::flat && Takes == Rank::map;
  static constexpr int norm = batchnorm_dims<After>();
  static constexpr text sentence =
      map_into_flat && norm == 0
          ? text("put a Flatten before ") + layer_name<After>() + text(", which follows ") + layer_name<Before>()
          : layer_name<After>() + text(" follows ") + layer_name<Before>() +
                (map_into_flat ? text(", which gives a 4-D map") : text(", which gives a flat [N, features] tensor"));
  static_assert(!map_into_flat || norm != 0 ||
                    FASTPP_NN_EXPLAIN(sentence, put_a_Flatten_before<After>::template which_follows<Before>::holds),
                "Sequential: a Linear takes a flat [N, features] tensor but follows a layer that gives a 4-D NHWC "
                "map [N, H, W, C]: put a Flatten before the Linear (both layers are named beside this message)");
  static_assert(!map_into_flat || norm != 1 ||
                    FASTPP_NN_EXPLAIN(sentence,
                                      the_layer<After>::template follows<Before>::which_gives_a_4D_map::holds),
                "Sequential: BatchNorm1d normalises a flat [N, features] tensor but follows a layer that gives a 4-D "
                "NHWC map: on a map use BatchNorm2d, or put a Flatten before the BatchNorm1d (both layers are "
                "named beside this message)");
  static_assert(!flat_into_map || norm != 2 ||
                    FASTPP_NN_EXPLAIN(sentence,
                                      the_layer<After>::template follows<Before>::which_gives_a_flat_tensor::holds),
                "Sequential: BatchNorm2d normalises a 4-D NHWC map but follows a layer that gives a flat "
                "[N, features] tensor (a Flatten or a Linear): after those use BatchNorm1d, or move the BatchNorm2d "
                "before the Flatten (both layers are named beside this message)");
  static_assert(!flat_into_map || norm == 2 ||
                    FASTPP_NN_EXPLAIN(sentence,
                                      the_layer<After>::template follows<Before>::which_gives_a_flat_tensor::holds),
                "Sequential: convolutions and pools take a 4-D NHWC map but this one follows a layer that gives a "
                "flat [N, features] tensor (a Flatten or a Linear): put it before the Flatten (both layers are "
                "named beside this message)");
  static constexpr bool ok = true;
};

template <class T>
struct must_be_a_layer {
  static_assert(Layer<T> || refused_its_arguments<T>,
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
  static_assert(same_device ||
                    FASTPP_NN_EXPLAIN(sentence, the_layer<After>::template follows<Before>::on_another_device::holds),
                "Sequential: every layer of a network must run on the same device: write the network once for "
                "the cpu and build it for another device with nn::on_device_t<Net, Device> (both layers are "
                "named beside this message)");
  static_assert(same_dtype ||
                    FASTPP_NN_EXPLAIN(sentence, the_layer<After>::template follows<Before>::with_another_dtype::holds),
                "Sequential: every layer of a network must use the same activation dtype: build the whole "
                "network with nn::on_device_t<Net, Device, DType> (both layers are named beside this message)");
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

// What Sequential reads of a type that is not a layer, so that must_be_a_layer's message is the only one:
// nothing below looks inside the offending type.
struct NotALayer {
  using device_type = fastpp::cpu;
  using value_type = float;
  static constexpr std::int64_t in_channels = any_channels;
  static constexpr std::int64_t out_channels = same_as_input;
  static constexpr Rank in_rank = Rank::any;
  static constexpr Rank out_rank = Rank::any;
};
template <class L>
using checked_as = std::conditional_t<Layer<L>, L, NotALayer>;

// Rebuilt for another device only when `on` is used (a non-layer has no `on`).
template <class L, class D, class T>
struct rebuilt {
  using type = typename L::template on<D, T>;
};

// Rank and channel flow through layers L... (all of them layers), and the checks of each neighbouring
// pair. Each check is a static_assert directly over the pairs, so a failed one is the only message.
template <class... L>
struct chain {
  static constexpr std::size_t size = sizeof...(L);
  template <std::size_t I>
  using at = std::tuple_element_t<I, std::tuple<L...>>;
  template <std::size_t I>
  using before = std::conditional_t<I == 0, SequentialInput, at<I - (I > 0)>>;

  static constexpr Flow flow(Flow in) {
    ((in = flow_through<L>(in)), ...);
    return in;
  }
  static constexpr bool ranks_fit(Rank got, Rank takes) {
    return got == Rank::any || takes == Rank::any || got == takes;
  }
  // flows[i] is what reaches layer i (from a Sequential input of unknown width and rank). After a layer
  // refused for its rank, the rank is taken as unknown, so that one misplaced layer is one message.
  static constexpr std::array<Flow, size + 1> flows = [] {
    std::array<Flow, size + 1> f{};
    f[0] = Flow{};
    std::size_t i = 0;
    ((f[i + 1] = flow_through<L>(f[i]),
      f[i + 1].rank = ranks_fit(f[i].rank, in_rank_of<L>()) ? f[i + 1].rank : Rank::any, ++i),
     ...);
    return f;
  }();
  // The rank the chain takes: that of its first layer that states one, unless a layer before it fixes
  // the rank (Flatten takes either); and the rank it gives: that of its last layer that fixes one.
  static constexpr Rank in_rank = [] {
    const std::array<Rank, size> takes{in_rank_of<L>()...}, gives{out_rank_of<L>()...};
    for (std::size_t i = 0; i < size; ++i) {
      if (takes[i] != Rank::any) return takes[i];
      if (gives[i] != Rank::same_as_input) return Rank::any;
    }
    return Rank::any;
  }();
  static constexpr Rank out_rank = [] {
    Rank r = Rank::same_as_input;
    ((r = out_rank_of<L>() == Rank::same_as_input ? r : out_rank_of<L>()), ...);
    return r;
  }();

  template <class Seq>
  struct checks;
  template <std::size_t... I>
  struct checks<std::index_sequence<I...>> {
    static_assert((devices_must_match<at<I - (I > 0)>, at<I>>::ok && ...));
    static_assert((ranks_must_match<before<I>, at<I>, flows[I].rank, in_rank_of<at<I>>()>::ok && ...));
    // A pair whose ranks disagree has its message already; its channel counts are not compared.
    static_assert((channels_must_match<before<I>, at<I>, flows[I].channels,
                                       ranks_fit(flows[I].rank, in_rank_of<at<I>>()) ? at<I>::in_channels : dyn,
                                       flows[I].rank == Rank::flat>::ok &&
                   ...));
    static constexpr bool ok = true;
  };
  static constexpr bool ok = checks<std::make_index_sequence<size>>::ok;
};

template <class... L>
using first_of = layer_device<std::tuple_element_t<0, std::tuple<L...>>>;

}  // namespace detail

template <class... L>
class Sequential {
  static_assert(sizeof...(L) > 0, "Sequential needs at least one layer");
  static_assert((detail::must_be_a_layer<L>::ok && ...));  // names what a layer needs
  // Below, a non-layer is replaced by a stand-in, so that its message is the only one.
  using chain = detail::chain<detail::checked_as<L>...>;

 public:
  static constexpr std::size_t size = sizeof...(L);
  using layers_type = std::tuple<L...>;
  template <std::size_t I>
  using layer_type = std::tuple_element_t<I, layers_type>;
  using device_type = typename detail::first_of<L...>::device;
  using value_type = typename detail::first_of<L...>::dtype;
  template <class D2, class T2>
  using on = Sequential<typename detail::rebuilt<L, D2, T2>::type...>;

  // The flow through the layers, starting from `in` (so a nested Sequential is checked against what
  // comes before it).
  static constexpr Flow flow(Flow in) { return chain::flow(in); }
  static constexpr std::int64_t in_channels = chain::template at<0>::in_channels;
  static constexpr std::int64_t out_channels = [] {
    const Flow f = flow(Flow{in_channels == any_channels ? any_channels : in_channels, false, Rank::any});
    return f.channels == any_channels ? same_as_input : f.channels;
  }();
  static constexpr Rank in_rank = chain::in_rank;
  static constexpr Rank out_rank = chain::out_rank;
  static constexpr bool reports_child_grads = true;  // report_grads (layer.hpp), after each child's backward
  static constexpr text type_name() { return text("Sequential"); }

 private:
  // Each failure is reported, naming the layers, by detail::must_be_a_layer, devices_must_match,
  // ranks_must_match or channels_must_match.
  static_assert(chain::ok);

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
  // With ctx.input_grad false (the Learner's case) it goes down only as far as a layer that trains, and gives
  // back an undefined tensor.
  Tensor<value_type, device_type> backward(Ctx& ctx, const Tensor<value_type, device_type>& dy) {
    Tensor<value_type, device_type> d = dy;
    const bool input_grad = ctx.input_grad;
    // used[i]: whether layer i's input gradient is needed: by the caller (i = 0), or by a layer below that trains
    std::array<bool, size> used{};
    used[0] = input_grad;
    std::size_t i = 0;
    for_each_child([&](auto& l, const std::string&) {
      if (i + 1 < size) used[i + 1] = used[i] || trains(l);
      ++i;
    });
    bool done = false;
    try {
      backward_from<size>(ctx, d, used, done, std::make_index_sequence<size>{});
    } catch (...) {
      ctx.input_grad = input_grad;
      throw;
    }
    ctx.input_grad = input_grad;
    return input_grad ? d : Tensor<value_type, device_type>{};
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
  template <class Layer>
  static bool trains(Layer& l) {
    bool any = false;
    l.for_each_param([&](const std::string&, auto& p) { any = any || p.requires_grad(); });
    return any;
  }
  template <std::size_t N, std::size_t... I>
  void backward_from(Ctx& ctx, Tensor<value_type, device_type>& d, const std::array<bool, N>& used, bool& done,
                     std::index_sequence<I...>) {
    (backward_one<N - 1 - I>(ctx, d, used, done), ...);
  }
  // Layer I's backward, unless a layer above it was the last one needed; where nobody uses layer I's input
  // gradient, layer I is the last (and is skipped too when it does not train).
  template <std::size_t I>
  void backward_one(Ctx& ctx, Tensor<value_type, device_type>& d, const std::array<bool, size>& used, bool& done) {
    if (done) return;
    auto& l = std::get<I>(layers_);
    if (!used[I]) {
      done = true;
      if (!trains(l)) return;
    }
    ctx.input_grad = used[I];
    d = l.backward(ctx, std::move(d));
    report_grads(ctx, l);
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
