// Learner checkpoints: a run stopped after epoch k and resumed from its checkpoint ends with the same
// weights, bit for bit, as one that never stopped; a damaged or mismatched checkpoint is refused and the
// learner is left exactly as it was; a callback that throws leaves the model as after the last step.
#include <catch2/catch.hpp>

#include <fstream>

#include "helpers.hpp"

using namespace fastpp;
using namespace fastpp::test;

namespace {
LearnerOptions at(const fs::path& dir, std::uint64_t seed = 3) {
  LearnerOptions o;
  o.progress = Progress::none;
  o.path = dir;
  o.seed = seed;
  return o;
}
auto learner_in(const fs::path& data, const fs::path& dir) {
  return make_learner(colour_dls(data, 8, 2, 5), tiny_net(), metrics(accuracy), at(dir));
}
}  // namespace

TEST_CASE("a fit stopped after epoch k and resumed from its checkpoint ends bit for bit as one that never stopped",
          "[learner][checkpoint]") {
  TempDir t;
  write_colour_dataset(t / "data");
  auto whole = learner_in(t / "data", t / "a");
  whole.fit_one_cycle(4, 2e-2);
  const auto want = weights_of(whole.model());

  auto first = learner_in(t / "data", t / "b");
  auto stop = std::make_shared<LambdaCallback>();
  stop->ord = 100;
  stop->on_after_epoch = [](LearnerBase& l) {
    if (l.state.epoch == 1) {
      l.save("epoch1");
      throw CancelFit{};
    }
  };
  OneCycleOptions o1;
  o1.cbs = {stop};
  first.fit_one_cycle(4, 2e-2, o1);
  CHECK_FALSE(bit_equal(weights_of(first.model()), want));

  auto resumed = learner_in(t / "data", t / "b");  // a fresh learner, as in a new process
  resumed.load("epoch1");
  CHECK(resumed.epochs_done() == 2);
  OneCycleOptions o2;
  o2.start_epoch = resumed.epochs_done();
  resumed.fit_one_cycle(4, 2e-2, o2);
  CHECK(bit_equal(weights_of(resumed.model()), want));
  CHECK(resumed.recorder().values.size() == 2);  // the resumed fit's own epochs
}

TEST_CASE("save and load round-trip weights, optimizer state, freezing and the recorder", "[learner][checkpoint]") {
  TempDir t;
  write_colour_dataset(t / "data");
  auto a = learner_in(t / "data", t / "m");
  a.freeze();
  a.fit(1, 1e-2);
  const auto path = a.save("one");
  CHECK(fs::exists(path));
  CHECK(path == t / "m" / "models" / "one.safetensors");
  auto b = learner_in(t / "data", t / "m");
  b.load("one");
  CHECK(bit_equal(weights_of(b.model()), weights_of(a.model())));
  CHECK(b.recorder().losses == a.recorder().losses);
  CHECK(b.recorder().values == a.recorder().values);
  std::vector<bool> fa, fb;
  a.model().for_each_param([&](const std::string&, nn::Param& p) { fa.push_back(p.frozen); });
  b.model().for_each_param([&](const std::string&, nn::Param& p) { fb.push_back(p.frozen); });
  CHECK(fa == fb);
  std::map<std::string, std::vector<float>> sa, sb;
  a.opt().for_each_state([&](const std::string& n, Tensor<float, cpu>& x) { sa[n].assign(x.begin(), x.end()); });
  b.opt().for_each_state([&](const std::string& n, Tensor<float, cpu>& x) { sb[n].assign(x.begin(), x.end()); });
  CHECK(sa == sb);
  // The same next step from both.
  a.fit(1, 1e-2);
  b.fit(1, 1e-2);
  CHECK(bit_equal(weights_of(b.model()), weights_of(a.model())));
}

TEST_CASE("a damaged or mismatched checkpoint is refused and the learner keeps its state", "[learner][checkpoint][bad_input]") {
  TempDir t;
  write_colour_dataset(t / "data");
  auto a = learner_in(t / "data", t / "m");
  a.fit(1, 1e-2);
  const auto path = a.save("good");
  auto b = learner_in(t / "data", t / "m");
  b.fit(1, 3e-3);
  const auto before = weights_of(b.model());
  const auto losses = b.recorder().losses;

  // Truncated.
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(t / "m" / "models" / "cut.safetensors", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  CHECK_THROWS_WITH(b.load("cut"), Catch::Contains("cut.safetensors"));
  // One flipped bit in the weights.
  auto flipped = bytes;
  flipped[flipped.size() - 7] ^= 0x10;
  std::ofstream(t / "m" / "models" / "flip.safetensors", std::ios::binary).write(flipped.data(), static_cast<std::streamsize>(flipped.size()));
  CHECK_THROWS_WITH(b.load("flip"), Catch::Contains("flip.safetensors"));
  // Missing.
  CHECK_THROWS_WITH(b.load("absent"), Catch::Contains("absent.safetensors"));
  // Another architecture: a wider network's checkpoint.
  auto other = make_learner(colour_dls(t / "data", 8, 2, 5),
                            nn::Sequential<nn::Conv2d<3, 4>, nn::ReLU, nn::AdaptiveAvgPool2d<1>, nn::Flatten, nn::Linear<4, nn::dyn>>(nn::Build{Rng(0), 3}),
                            {}, at(t / "m"));
  other.save("other");
  CHECK_THROWS_WITH(b.load("other"), Catch::Contains("other.safetensors") && Catch::Contains("model"));
  // Nothing changed.
  CHECK(bit_equal(weights_of(b.model()), before));
  CHECK(b.recorder().losses == losses);
  b.load("good");
  CHECK(bit_equal(weights_of(b.model()), weights_of(a.model())));
}

TEST_CASE("a callback that throws stops training with the model as after the last finished step", "[learner]") {
  TempDir t;
  write_colour_dataset(t / "data");
  auto learn = learner_in(t / "data", t / "m");
  std::vector<float> after_step;
  int steps = 0;
  auto cb = std::make_shared<LambdaCallback>();
  cb->on_after_step = [&](LearnerBase&) {
    ++steps;
    after_step = weights_of(learn.model());
  };
  cb->on_after_loss = [&](LearnerBase&) {
    if (steps == 5) throw std::runtime_error("the callback failed");
  };
  learn.add_cb(cb);
  CHECK_THROWS_WITH(learn.fit(2, 1e-2), "the callback failed");
  CHECK(steps == 5);
  CHECK(bit_equal(weights_of(learn.model()), after_step));  // BatchNorm's running stats included
  learn.model().for_each_param([](const std::string& n, nn::Param& p) {
    INFO(n);
    for (float g : p.grad) REQUIRE(g == 0.0f);
  });
}

TEST_CASE("lr_find sweeps exponentially, suggests rates and leaves the model and optimizer as they were", "[learner]") {
  TempDir t;
  write_colour_dataset(t / "data", 40, 4);
  auto learn = learner_in(t / "data", t / "m");
  learn.fit(1, 1e-3);
  const auto before = weights_of(learn.model());
  LrFindOptions o;
  o.num_it = 30;
  o.plot = t / "lr_find.svg";
  const auto r = learn.lr_find(o);
  CHECK(bit_equal(weights_of(learn.model()), before));
  CHECK_FALSE(fs::exists(learn.checkpoint_path(LRFinder::tmp_name)));
  const auto& lrs = learn.recorder().lrs;
  REQUIRE(lrs.size() >= 6);
  for (std::size_t i = 0; i < lrs.size(); ++i)
    CHECK(lrs[i] == Approx(1e-7 * std::pow(1e8, static_cast<double>(i) / 30)).epsilon(1e-12));
  CHECK(r.lrs.size() == r.losses.size());
  for (const auto* s : {&r.valley, &r.minimum, &r.steep, &r.slide}) {
    CHECK(s->lr > 1e-7);
    CHECK(s->lr < 10);
  }
  CHECK(fs::file_size(t / "lr_find.svg") > 500);
}
