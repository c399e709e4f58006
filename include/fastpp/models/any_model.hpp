#pragma once
// AnyModel: a model whose architecture is chosen at run time (a command-line flag), holding a typed
// model underneath. Only the model boundary is virtual (one call per forward/backward), so the layers
// inside keep their compile-time checks and inlined kernels.
#include <functional>
#include <memory>
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

// The architectures make_model knows.
inline constexpr std::string_view model_names[] = {"resnet18", "resnet34", "resnet50", "torchvision_resnet18",
                                                   "torchvision_resnet34", "torchvision_resnet50"};

// "resnet34" -> fastai's vision_learner model (body + fastai head) for n_classes;
// "torchvision_resnet34" -> torchvision's classifier with n_classes outputs.
// A template only so that the six models are compiled in the translation units that call it, not in
// every one that includes this header (each ResNet type costs seconds of compile time).
template <class = void>
AnyModel make_model(std::string_view arch, std::int64_t n_classes, std::uint64_t seed = 0) {
  const std::string a(arch);
  if (a == "resnet18") return AnyModel(make_fastai_model<resnet18>(n_classes, seed), a);
  if (a == "resnet34") return AnyModel(make_fastai_model<resnet34>(n_classes, seed), a);
  if (a == "resnet50") return AnyModel(make_fastai_model<resnet50>(n_classes, seed), a);
  if (a == "torchvision_resnet18") return AnyModel(make_torchvision_resnet<resnet18>(n_classes, seed), a);
  if (a == "torchvision_resnet34") return AnyModel(make_torchvision_resnet<resnet34>(n_classes, seed), a);
  if (a == "torchvision_resnet50") return AnyModel(make_torchvision_resnet<resnet50>(n_classes, seed), a);
  std::string known;
  for (auto n : model_names) known.append(" ").append(n);
  throw ValueError("make_model: unknown architecture \"" + a + "\"; known:" + known);
}

}  // namespace fastpp::models
