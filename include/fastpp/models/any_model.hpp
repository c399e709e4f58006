#pragma once
// AnyModel: a model whose architecture is chosen at run time (a command-line flag), holding a typed
// model underneath. Only the model boundary is virtual (one call per forward/backward), so the layers
// inside keep their compile-time checks and inlined kernels. AnyModelOn<D, T> holds models on device D
// with activations of dtype T; AnyModel is the cpu/float one.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "resnet.hpp"

namespace fastpp::models {

template <class D = cpu, class T = float>
class AnyModelOn {
  using tensor = Tensor<T, D>;
  using param = nn::ParamOn<D>;
  using buffer = nn::BufferRefOn<D>;

 public:
  using device_type = D;
  using value_type = T;
  template <class D2, class T2>
  using on = AnyModelOn<D2, T2>;
  static constexpr std::int64_t in_channels = nn::any_channels;
  static constexpr std::int64_t out_channels = nn::dyn;
  static constexpr nn::text type_name() { return nn::text("AnyModel"); }

  template <nn::Layer M>
  AnyModelOn(M model, std::string name) : impl_(std::make_unique<Impl<M>>(std::move(model))), name_(std::move(name)) {
    static_assert(std::is_same_v<typename M::device_type, D> && std::is_same_v<typename M::value_type, T>,
                  "AnyModelOn<D, T> holds models of its own device and dtype: build the model with "
                  "nn::on_device_t<Net, D, T> (or use the AnyModelOn of the model's device)");
  }

  const std::string& name() const noexcept { return name_; }
  tensor forward(nn::Ctx& ctx, const tensor& x) { return impl_->forward(ctx, x); }
  tensor backward(nn::Ctx& ctx, const tensor& dy) { return impl_->backward(ctx, dy); }
  Shape out_shape(const Shape& in) const { return impl_->out_shape(in); }
  template <class F>
  void for_each_param(F&& f, const std::string& prefix = {}) {
    impl_->params([&](const std::string& n, param& p) { f(n, p); }, prefix);
  }
  template <class F>
  void for_each_buffer(F&& f, const std::string& prefix = {}) {
    impl_->buffers([&](const std::string& n, buffer b) { f(n, b); }, prefix);
  }
  // The typed model, or nullptr when it is of another type.
  template <class M>
  M* as() noexcept {
    auto* p = dynamic_cast<Impl<M>*>(impl_.get());
    return p ? &p->model : nullptr;
  }

 private:
  struct Iface {
    virtual ~Iface() = default;
    virtual tensor forward(nn::Ctx&, const tensor&) = 0;
    virtual tensor backward(nn::Ctx&, const tensor&) = 0;
    virtual Shape out_shape(const Shape&) const = 0;
    virtual void params(const std::function<void(const std::string&, param&)>&, const std::string&) = 0;
    virtual void buffers(const std::function<void(const std::string&, buffer)>&, const std::string&) = 0;
  };
  template <class M>
  struct Impl final : Iface {
    explicit Impl(M m) : model(std::move(m)) {}
    tensor forward(nn::Ctx& c, const tensor& x) override { return model.forward(c, x); }
    tensor backward(nn::Ctx& c, const tensor& d) override { return model.backward(c, d); }
    Shape out_shape(const Shape& s) const override { return model.out_shape(s); }
    void params(const std::function<void(const std::string&, param&)>& f, const std::string& pre) override {
      model.for_each_param(f, pre);
    }
    void buffers(const std::function<void(const std::string&, buffer)>& f, const std::string& pre) override {
      nn::visit_buffers(model, f, pre);
    }
    M model;
  };
  std::unique_ptr<Iface> impl_;
  std::string name_;
};
using AnyModel = AnyModelOn<>;

// A list of architectures for make_model: only the listed ones are compiled where make_model is called.
template <class... Archs>
struct archs {};
using all_resnets = archs<resnet18, resnet34, resnet50>;

namespace detail {
template <class Arch, class D, class T>
bool try_make_model(const std::string& a, std::int64_t n_classes, std::uint64_t seed,
                    std::optional<AnyModelOn<D, T>>& out) {
  if (a == Arch::name) out.emplace(make_fastai_model<Arch, D, T>(n_classes, seed), a);
  else if (a == std::string("torchvision_") + Arch::name) out.emplace(make_torchvision_resnet<Arch, D, T>(n_classes, seed), a);
  return out.has_value();
}
template <class D, class T, class... Archs>
AnyModelOn<D, T> make_model_from(archs<Archs...>, std::string_view arch, std::int64_t n_classes, std::uint64_t seed) {
  const std::string a(arch);
  std::optional<AnyModelOn<D, T>> out;
  if ((try_make_model<Archs, D, T>(a, n_classes, seed, out) || ...)) return std::move(*out);
  std::string known;
  ((known.append(" ").append(Archs::name).append(" torchvision_").append(Archs::name)), ...);
  throw ValueError("make_model: unknown architecture \"" + a + "\"; known:" + known);
}
}  // namespace detail

// "resnet34" -> fastai's vision_learner model (body + fastai head) for n_classes;
// "torchvision_resnet34" -> torchvision's classifier with n_classes outputs.
// Every listed architecture is compiled where make_model is called (each ResNet costs seconds of compile
// time, all six about a minute), so a program that needs only some lists them:
//   make_model<archs<resnet18, resnet34>>(name, n_classes).
template <class Archs = all_resnets, class D = cpu, class T = float>
AnyModelOn<D, T> make_model(std::string_view arch, std::int64_t n_classes, std::uint64_t seed = 0) {
  return detail::make_model_from<D, T>(Archs{}, arch, n_classes, seed);
}

}  // namespace fastpp::models
