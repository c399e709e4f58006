// vision_learner<models::resnet18> and any_vision_learner(dls, "resnet18") on 16 small images: both build
// fastai's model (ResNet body, fastai head, three parameter groups), train a few batches of fit(1) and
// report finite losses and a valid error rate, and, given the same seeds, the type-erased learner computes
// exactly what the typed one does. This file compiles ResNet-18's code (about a minute with g++ 12 -O3), so
// it is kept apart from the other tests of the area.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>

#include "fashion.hpp"

using namespace fastpp;
using namespace fastpp::test;

namespace {

// Two classes of 32x32 images, bright ("light") or dark ("dark") plus noise: 12 for training (3 batches of
// 4), 4 for validation.
void write_light_dark(const fs::path& root) {
  Rng rng(5);
  for (const char* split : {"train", "valid"})
    for (int c = 0; c < 2; ++c) {
      const int n = split == std::string("train") ? 6 : 2;
      for (int i = 0; i < n; ++i) {
        Image img = Image::empty({32, 32, 3});
        for (std::int64_t y = 0; y < 32; ++y)
          for (std::int64_t x = 0; x < 32; ++x)
            for (int ch = 0; ch < 3; ++ch)
              img(y, x, ch) = static_cast<std::uint8_t>(std::clamp((c ? 170.0 : 80.0) + 40.0 * rng.normal(), 0.0, 255.0));
        const fs::path dir = root / split / (c ? "light" : "dark");
        fs::create_directories(dir);
        save_ppm(dir / (std::to_string(i) + ".ppm"), img);
      }
    }
}

DataLoaders light_dark_dls(const fs::path& root) {
  return DataBlock{Blocks{ImageBlock{.load = load_netpbm}, CategoryBlock{}}, get_image_files, GrandparentSplitter{},
                   parent_label}
      .dataloaders(root, {.bs = 4, .num_workers = 0, .seed = 1});
}

// Stops each epoch's training before its batch n (then the epoch validates as usual).
struct StopAfter final : Callback {
  std::int64_t n;
  explicit StopAfter(std::int64_t batches) : n(batches) {}
  std::string name() const override { return "StopAfter"; }
  void before_batch(LearnerBase& l) override {
    if (l.state.training && l.state.iter >= n) throw CancelTrain{};
  }
};

VisionLearnerOptions options() {
  VisionLearnerOptions o;
  o.seed = 11;
  o.learner.progress = Progress::none;
  o.learner.seed = 3;  // the head's Dropout masks
  return o;
}

template <class M>
std::vector<float> params_of(M& model) {
  std::vector<float> out;
  model.for_each_param([&](const std::string&, nn::Param& p) {
    const auto v = p.to_host();
    out.insert(out.end(), v.begin(), v.end());
  });
  return out;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

}  // namespace

TEST_CASE("vision_learner<resnet18> and any_vision_learner(\"resnet18\") train a few batches alike", "[learner_e2e]") {
  TempDir t;
  write_light_dark(t.path());
  auto typed = vision_learner<models::resnet18>(light_dark_dls(t.path()), metrics(error_rate), options());
  auto any = any_vision_learner<models::archs<models::resnet18>>(light_dark_dls(t.path()), "resnet18",
                                                                 metrics(error_rate), options());
  CHECK(typed.arch() == "resnet18");
  CHECK(any.arch() == "resnet18");
  CHECK(any.model().name() == "resnet18");
  CHECK(typed.n_groups() == 3);  // fastai's resnet split: body[:6], body[6:], head
  CHECK(any.n_groups() == 3);
  CHECK(typed.dls().c == 2);

  const std::vector<float> start = params_of(typed.model());
  REQUIRE(start == params_of(any.model()));  // the same seed builds the same model behind the type erasure
  CHECK(same_bits(typed.validate(), any.validate()));

  for (LearnerBase* l : {static_cast<LearnerBase*>(&typed), static_cast<LearnerBase*>(&any)}) {
    FitOptions fo;
    fo.cbs = {std::make_shared<StopAfter>(2)};
    l->fit(1, 1e-3, fo);
    const Recorder& r = l->recorder();
    CHECK(r.lrs.size() == 2);  // two of the three training batches ran
    REQUIRE(r.values.size() == 1);
    REQUIRE(r.values[0].size() == 3);  // train_loss, valid_loss, error_rate
    const double train_loss = r.values[0][0], valid_loss = r.values[0][1], err = r.values[0][2];
    CHECK(std::isfinite(train_loss));
    CHECK(train_loss > 0);
    CHECK(std::isfinite(valid_loss));
    CHECK(valid_loss > 0);
    CHECK(err >= 0);
    CHECK(err <= 1);
    CHECK(err * 4 == Approx(std::round(err * 4)));  // a count of the 4 validation images
  }
  const std::vector<float> end = params_of(typed.model());
  CHECK(end != start);                        // the steps moved the weights
  CHECK(end == params_of(any.model()));       // and moved them identically
  CHECK(same_bits(typed.recorder().losses, any.recorder().losses));
  CHECK(same_bits(typed.recorder().values[0], any.recorder().values[0]));

  CHECK_THROWS_WITH(any_vision_learner<models::archs<models::resnet18>>(light_dark_dls(t.path()), "resnet19"),
                    Catch::Contains("resnet19") && Catch::Contains("resnet18"));
}

TEST_CASE("vision_learner takes a fastpp checkpoint of the same architecture as pretrained weights", "[learner_e2e]") {
  TempDir t;
  write_light_dark(t.path() / "data");
  VisionLearnerOptions o = options();
  o.learner.path = t.path();
  auto first = vision_learner<models::resnet18>(light_dark_dls(t.path() / "data"), metrics(error_rate), o);
  FitOptions fo;
  fo.cbs = {std::make_shared<StopAfter>(1)};
  first.fit(1, 1e-3, fo);
  const fs::path saved = first.save("first");

  // A second learner from that checkpoint: body bit-equal to the first's trained body, head freshly
  // initialised (the seed differs from the first's, so its head differs too), and frozen as fastai does.
  VisionLearnerOptions p = options();
  p.seed = 12;
  p.weights = saved;
  auto second = vision_learner<models::resnet18>(light_dark_dls(t.path() / "data"), metrics(error_rate), p);
  auto fresh = vision_learner<models::resnet18>(light_dark_dls(t.path() / "data"), metrics(error_rate), [] {
    VisionLearnerOptions q = options();
    q.seed = 12;
    return q;
  }());
  std::size_t body = 0, head = 0;
  std::map<std::string, std::vector<float>> trained;
  first.model().for_each_param([&](const std::string& n, nn::Param& prm) { trained[n] = prm.to_host(); });
  std::map<std::string, std::vector<float>> untrained;
  fresh.model().for_each_param([&](const std::string& n, nn::Param& prm) { untrained[n] = prm.to_host(); });
  second.model().for_each_param([&](const std::string& n, nn::Param& prm) {
    if (n.rfind("0.", 0) == 0) {
      CHECK(prm.to_host() == trained[n]);
      CHECK(prm.frozen);
      ++body;
    } else {
      CHECK(prm.to_host() == untrained[n]);
      CHECK(prm.to_host() != trained[n]);
      ++head;
    }
  });
  CHECK(body > 0);
  CHECK(head > 0);

  // A checkpoint of another architecture is refused by name (its arch entry rewritten, the checksum redone).
  CheckpointFile f = load_checkpoint_file(saved);
  f.meta["arch"] = "resnet34";
  const fs::path other = t / "other.safetensors";
  save_checkpoint_file(other, f);
  p.weights = other;
  CHECK_THROWS_WITH(vision_learner<models::resnet18>(light_dark_dls(t.path() / "data"), metrics(error_rate), p),
                    Catch::Contains("a checkpoint of resnet34, not of resnet18"));
  // A damaged checkpoint is refused by its checksum before any weight is copied.
  auto bytes = read_regular_file(saved, "test");
  bytes[bytes.size() - 5] ^= 0x10;
  const fs::path damaged = t / "damaged.safetensors";
  std::ofstream(damaged, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  p.weights = damaged;
  CHECK_THROWS_WITH(vision_learner<models::resnet18>(light_dark_dls(t.path() / "data"), metrics(error_rate), p),
                    Catch::Contains("checksum"));
}
