#pragma once
// AnyModel: a model whose architecture is chosen at run time (a command-line flag), holding a typed
// model underneath. Only the model boundary is virtual (one call per forward/backward), so the layers
// inside keep their compile-time checks and inlined kernels.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "resnet.hpp"

namespace fastpp::models {

class AnyModel {
 public:
  static constexpr std::int64_t in_channels = nn::any_channels;
  static constexpr std::int64_t out_channels = nn::dyn;
  static constexpr nn::text type_name() { return nn::text("AnyModel"); }

  template <nn::Layer M>
  AnyModel(M model, std::string name) : impl_(std::make_unique<Impl<M>>(std::move(model))), name_(std::move(name)) {}

  const std::string& name() const noexcept { return name_; }
  Tensor<float> forward(nn::Ctx& ctx, const Tensor<float>& x) { return impl_->forward(ctx, x); }
  Tensor<float> backward(nn::Ctx& ctx, const Tensor<float>& dy) { return impl_->backward(ctx, dy); }
  Shape out_shape(const Shape& in) const { return impl_->out_shape(in); }
  template <class F>
  void for_each_param(F&& f, const std::string& prefix = {}) {
    impl_->params([&](const std::string& n, nn::Param& p) { f(n, p); }, prefix);
  }
  template <class F>
  void for_each_buffer(F&& f, const std::string& prefix = {}) {
    impl_->buffers([&](const std::string& n, nn::BufferRef b) { f(n, b); }, prefix);
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
    virtual Tensor<float> forward(nn::Ctx&, const Tensor<float>&) = 0;
    virtual Tensor<float> backward(nn::Ctx&, const Tensor<float>&) = 0;
    virtual Shape out_shape(const Shape&) const = 0;
    virtual void params(const std::function<void(const std::string&, nn::Param&)>&, const std::string&) = 0;
    virtual void buffers(const std::function<void(const std::string&, nn::BufferRef)>&, const std::string&) = 0;
  };
  template <class M>
  struct Impl final : Iface {
    explicit Impl(M m) : model(std::move(m)) {}
    Tensor<float> forward(nn::Ctx& c, const Tensor<float>& x) override { return model.forward(c, x); }
    Tensor<float> backward(nn::Ctx& c, const Tensor<float>& d) override { return model.backward(c, d); }
    Shape out_shape(const Shape& s) const override { return model.out_shape(s); }
    void params(const std::function<void(const std::string&, nn::Param&)>& f, const std::string& pre) override {
      model.for_each_param(f, pre);
    }
    void buffers(const std::function<void(const std::string&, nn::BufferRef)>& f, const std::string& pre) override {
      nn::visit_buffers(model, f, pre);
    }
    M model;
  };
  std::unique_ptr<Iface> impl_;
  std::string name_;
};

// A list of architectures for make_model: only the listed ones are compiled where make_model is called.
template <class... Archs>
struct archs {};
using all_resnets = archs<resnet18, resnet34, resnet50>;

namespace detail {
template <class Arch>
bool try_make_model(const std::string& a, std::int64_t n_classes, std::uint64_t seed, std::optional<AnyModel>& out) {
  if (a == Arch::name) out.emplace(make_fastai_model<Arch>(n_classes, seed), a);
  else if (a == std::string("torchvision_") + Arch::name) out.emplace(make_torchvision_resnet<Arch>(n_classes, seed), a);
  return out.has_value();
}
template <class... Archs>
AnyModel make_model_from(archs<Archs...>, std::string_view arch, std::int64_t n_classes, std::uint64_t seed) {
  const std::string a(arch);
  std::optional<AnyModel> out;
  if ((try_make_model<Archs>(a, n_classes, seed, out) || ...)) return std::move(*out);
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
template <class Archs = all_resnets>
AnyModel make_model(std::string_view arch, std::int64_t n_classes, std::uint64_t seed = 0) {
  return detail::make_model_from(Archs{}, arch, n_classes, seed);
}

}  // namespace fastpp::models
