#pragma once
// Residual blocks: out = relu(main(x) + shortcut(x)), with torchvision's BasicBlock and Bottleneck as
// instances. The main branch's children carry their torchvision names (conv1, bn1, ...); the shortcut,
// when it is not the identity, is named "downsample".
#include <cstdint>
#include <string>

#include "activation.hpp"
#include "conv.hpp"
#include "norm.hpp"
#include "sequential.hpp"

namespace fastpp::nn {

template <class Main, class Shortcut>
class Residual {
  static_assert(Main::out_channels > 0, "Residual: the main branch must have a known output channel count");
  static_assert(is_identity_v<Shortcut> || Shortcut::out_channels == Main::out_channels,
                "Residual: the shortcut must produce as many channels as the main branch");
  static_assert(!is_identity_v<Shortcut> || Main::in_channels == Main::out_channels,
                "Residual: an identity shortcut needs a main branch with equal input and output channels; "
                "add a downsample (1x1 Conv2d + BatchNorm2d) shortcut");

  static_assert(detail::devices_must_match<Main, Shortcut>::ok);

 public:
  using device_type = typename Main::device_type;
  using value_type = typename Main::value_type;
  using tensor = Tensor<value_type, device_type>;
  template <class D2, class T2>
  using on = Residual<typename Main::template on<D2, T2>, typename Shortcut::template on<D2, T2>>;
  static constexpr std::int64_t in_channels = Main::in_channels;
  static constexpr std::int64_t out_channels = Main::out_channels;
  static constexpr Rank in_rank = in_rank_of<Main>();  // the main branch's, as for the channels
  static constexpr Rank out_rank = out_rank_of<Main>();
  static constexpr bool reports_child_grads = true;  // report_grads (layer.hpp)
  static constexpr text type_name() {
    return text("Residual<") + to_text(in_channels) + text(", ") + to_text(out_channels) + text(">");
  }

  Main main;
  Shortcut shortcut;

  Residual() = default;
  explicit Residual(Build& b) : main(detail::make_layer<Main>(b)), shortcut(detail::make_layer<Shortcut>(b)) {}

  Shape out_shape(const Shape& in) const {
    const Shape a = main.out_shape(in), s = shortcut.out_shape(in);
    require<ShapeError>(a == s, type_name().view(), ": main branch gives ", a, " but the shortcut gives ", s,
                      " for input ", in);
    return a;
  }
  tensor forward(Ctx& ctx, const tensor& x) {
    tensor y = main.forward(ctx, x);
    const tensor s = shortcut.forward(ctx, x);
    require<ShapeError>(y.shape() == s.shape(), type_name().view(), ": main branch gives ", y.shape(),
                      " but the shortcut gives ", s.shape());
    return relu_.forward(ctx, add_into(std::move(y), s));
  }
  tensor backward(Ctx& ctx, tensor dy) {
    const tensor d = relu_.backward(ctx, std::move(dy));  // in place where the caller moved dy in
    tensor dx = main.backward(ctx, d);
    report_grads(ctx, main);
    tensor ds = shortcut.backward(ctx, d);
    report_grads(ctx, shortcut);
    if (!ctx.input_grad) return {};  // both branches have their weights' gradients; nobody wants dx
    return add_into(std::move(dx), ds);
  }

  template <class F>
  void for_each_param(F&& f, const std::string& prefix = {}) {
    main.for_each_param(f, prefix);
    shortcut.for_each_param(f, prefix + "downsample.");
  }
  template <class F>
  void for_each_buffer(F&& f, const std::string& prefix = {}) {
    visit_buffers(main, f, prefix);
    visit_buffers(shortcut, f, prefix + "downsample.");
  }

 private:
  // a += b, reusing a's storage when no one else holds it.
  static tensor add_into(tensor&& a, const tensor& b) {
    tensor out = a.use_count() == 1 ? std::move(a) : a.clone();
    backend::layer_kernels_for<device_type, value_type>::add_inplace(out.data(), b.data(), out.numel());
    return out;
  }
  ReLUOn<device_type, value_type> relu_;
};

// torchvision's shortcut when the shape changes: 1x1 conv with the block's stride, then BatchNorm.
template <std::int64_t In, std::int64_t Out, int Stride>
using Downsample = Sequential<Conv2d<In, Out, ConvOpts{.kernel = 1, .stride = Stride, .bias = false}>, BatchNorm2d<Out>>;

template <std::int64_t In, std::int64_t Out, int Stride>
using shortcut_for = std::conditional_t<Stride == 1 && In == Out, Identity, Downsample<In, Out, Stride>>;

// torchvision.models.resnet.BasicBlock (expansion 1): two 3x3 convs.
template <std::int64_t In, std::int64_t Planes, int Stride>
using BasicBlock = Residual<
    Sequential<Named<"conv1", Conv2d<In, Planes, ConvOpts{.kernel = 3, .stride = Stride, .padding = 1, .bias = false}>>,
               Named<"bn1", BatchNorm2d<Planes>>, Named<"relu", ReLU>,
               Named<"conv2", Conv2d<Planes, Planes, ConvOpts{.kernel = 3, .stride = 1, .padding = 1, .bias = false}>>,
               Named<"bn2", BatchNorm2d<Planes>>>,
    shortcut_for<In, Planes, Stride>>;

// torchvision.models.resnet.Bottleneck (ResNet v1.5, expansion 4): 1x1, 3x3 with the stride, 1x1.
template <std::int64_t In, std::int64_t Planes, int Stride>
using Bottleneck = Residual<
    Sequential<Named<"conv1", Conv2d<In, Planes, ConvOpts{.kernel = 1, .bias = false}>>,
               Named<"bn1", BatchNorm2d<Planes>>, Named<"relu1", ReLU>,
               Named<"conv2", Conv2d<Planes, Planes, ConvOpts{.kernel = 3, .stride = Stride, .padding = 1, .bias = false}>>,
               Named<"bn2", BatchNorm2d<Planes>>, Named<"relu2", ReLU>,
               Named<"conv3", Conv2d<Planes, Planes * 4, ConvOpts{.kernel = 1, .bias = false}>>,
               Named<"bn3", BatchNorm2d<Planes * 4>>>,
    shortcut_for<In, Planes * 4, Stride>>;

template <template <std::int64_t, std::int64_t, int> class Block>
inline constexpr std::int64_t expansion = std::is_same_v<Block<64, 64, 1>, Bottleneck<64, 64, 1>> ? 4 : 1;

}  // namespace fastpp::nn
