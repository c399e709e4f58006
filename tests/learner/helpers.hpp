#pragma once
// A small learnable image dataset and a tiny network, so Learner tests run in seconds: three classes of
// 12x12 images whose colour says the class (red, green, blue, plus noise), in the train/valid folder
// layout of GrandparentSplitter.
#include <fastpp/learner.hpp>
#include <fastpp/vision/netpbm.hpp>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "../data/helpers.hpp"

namespace fastpp::test {

inline void write_colour_dataset(const fs::path& root, int per_class_train = 24, int per_class_valid = 8,
                                 std::uint64_t seed = 1) {
  const char* classes[] = {"red", "green", "blue"};
  Rng rng(seed);
  for (int split = 0; split < 2; ++split) {
    const int n = split == 0 ? per_class_train : per_class_valid;
    for (int c = 0; c < 3; ++c) {
      const fs::path dir = root / (split == 0 ? "train" : "valid") / classes[c];
      fs::create_directories(dir);
      for (int i = 0; i < n; ++i) {
        Image img = Image::empty({12, 12, 3});
        for (std::int64_t y = 0; y < 12; ++y)
          for (std::int64_t x = 0; x < 12; ++x)
            for (int ch = 0; ch < 3; ++ch) {
              const double base = ch == c ? 150.0 : 70.0;
              const double v = base + 60.0 * rng.normal();
              img(y, x, ch) = static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
            }
        save_ppm(dir / (std::string(classes[c]) + "_" + std::to_string(i) + ".ppm"), img);
      }
    }
  }
}

inline auto colour_block() {
  return DataBlock{Blocks{ImageBlock{.load = load_netpbm}, CategoryBlock{}}, get_image_files, GrandparentSplitter{},
                   parent_label};
}

// Options for a learner that prints nothing and saves under dir.
inline LearnerOptions quiet_in(const fs::path& dir) {
  LearnerOptions o;
  o.path = dir;
  o.progress = Progress::none;
  return o;
}

inline DataLoaders colour_dls(const fs::path& root, std::int64_t bs = 8, int workers = 0, std::uint64_t seed = 0) {
  return colour_block().dataloaders(root, {.bs = bs, .num_workers = workers, .seed = seed});
}

// Two parameter groups: the convolution and its norm (group 0), the classifier (group 1).
using TinyNet = nn::Sequential<nn::Conv2d<3, 8, nn::ConvOpts{.kernel = 3, .stride = 2, .padding = 1, .bias = false}>,
                               nn::BatchNorm2d<8>, nn::ReLU, nn::AdaptiveAvgPool2d<1>, nn::Flatten, nn::Dropout<10>,
                               nn::Linear<8, nn::dyn>>;
inline TinyNet tiny_net(std::int64_t classes = 3, std::uint64_t seed = 0) {
  TinyNet net(nn::Build{Rng(seed), classes});
  net.for_each_param([](const std::string& name, nn::Param& p) { p.group = name.rfind("6.", 0) == 0 ? 1 : 0; });
  return net;
}

// Every parameter's and buffer's values, in visiting order (for bit-for-bit comparisons).
template <class M>
std::vector<float> weights_of(M& model) {
  std::vector<float> out;
  model.for_each_param([&](const std::string&, auto& p) {
    const auto v = p.to_host();
    out.insert(out.end(), v.begin(), v.end());
  });
  nn::visit_buffers(model, [&](const std::string&, auto b) {
    if (b.f32) out.insert(out.end(), b.f32->data(), b.f32->data() + b.f32->numel());
    if (b.count) out.push_back(static_cast<float>(*b.count));
  }, std::string{});
  return out;
}
inline bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// A callback made of lambdas, for tests.
struct LambdaCallback final : Callback {
  std::function<void(LearnerBase&)> on_after_loss, on_after_step, on_after_batch, on_after_epoch, on_before_batch;
  int ord = 0;
  std::string name() const override { return "LambdaCallback"; }
  int order() const override { return ord; }
  void before_batch(LearnerBase& l) override { if (on_before_batch) on_before_batch(l); }
  void after_loss(LearnerBase& l) override { if (on_after_loss) on_after_loss(l); }
  void after_step(LearnerBase& l) override { if (on_after_step) on_after_step(l); }
  void after_batch(LearnerBase& l) override { if (on_after_batch) on_after_batch(l); }
  void after_epoch(LearnerBase& l) override { if (on_after_epoch) on_after_epoch(l); }
};

}  // namespace fastpp::test
