// export_learner / load_learner: an exported resnet18 learner predicts, in a Predictor rebuilt from the
// file alone, what the learner itself predicts; the transforms' specs round-trip exactly; and every
// refusal names the file (or the transform) and the fault. One translation unit: each ResNet TU costs
// tens of seconds of compile time.
//
// The hidden test "[.consumer]" writes the export that tests/consumer/predict reads (CTest runs it first,
// with FASTPP_EXPORT_OUT set).
#include <catch2/catch.hpp>

#include <fastpp/learner.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iomanip>

#include "../data/helpers.hpp"

using namespace fastpp;
using namespace fastpp::test;

namespace {

// Three classes of images of varied sizes and aspects whose colour says the class, as PNG files (so the
// default decoder, load_image, reads them) in GrandparentSplitter's train/valid layout.
void write_dataset(const fs::path& root, int per_class_train = 4, int per_class_valid = 2) {
  const char* classes[] = {"red", "green", "blue"};
  Rng rng(7);
  for (int split = 0; split < 2; ++split)
    for (int c = 0; c < 3; ++c) {
      const fs::path dir = root / (split == 0 ? "train" : "valid") / classes[c];
      fs::create_directories(dir);
      for (int i = 0; i < (split == 0 ? per_class_train : per_class_valid); ++i) {
        const std::int64_t h = 30 + 5 * i + 3 * c, w = 44 - 4 * i + c;
        Image img = Image::empty({h, w, 3});
        for (std::int64_t y = 0; y < h; ++y)
          for (std::int64_t x = 0; x < w; ++x)
            for (int ch = 0; ch < 3; ++ch) {
              const double v = (ch == c ? 160.0 : 60.0) + 50.0 * rng.normal() + static_cast<double>(x + y);
              img(y, x, ch) = static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
            }
        save_png(img, dir / (std::string(classes[c]) + "_" + std::to_string(i) + ".png"));
      }
    }
}

// A batch transform of the user's own: it has no spec(), so it cannot be exported.
struct Brighten {
  static constexpr int order = 50;
  Tensor<float> operator()(Tensor<float> b, BatchContext&) const { return b; }
  std::string name() const { return "Brighten"; }
};

LearnerOptions quiet(const fs::path& dir) {
  LearnerOptions o;
  o.progress = Progress::none;
  o.path = dir;
  return o;
}

template <class... Tfms>
auto resnet18_learner_decoding(const fs::path& root, DecodeOptions decode, Tfms... tfms) {
  auto dls = DataBlock{Blocks{ImageBlock{.decode = decode}, CategoryBlock{}}, get_image_files, GrandparentSplitter{},
                       parent_label, tfms...}
                 .dataloaders(root / "data", {.bs = 4, .num_workers = 0});
  VisionLearnerOptions o;
  o.seed = 3;
  o.learner = quiet(root);
  return vision_learner<models::resnet18>(std::move(dls), {}, o);
}

template <class... Tfms>
auto resnet18_learner(const fs::path& root, Tfms... tfms) {
  return resnet18_learner_decoding(root, DecodeOptions{}, tfms...);
}

auto presizing() {
  return std::tuple{item_tfms(Resize{36}),
                    batch_tfms(aug_transforms({.size = 32, .min_scale = 0.75}), Normalize::from_stats(imagenet_stats))};
}

// The learner's own predict against the loaded export's, for every valid image and one image of a size the
// learner never saw: the same model input bit for bit, the same label and probabilities to 1e-6.
template <class Learn>
void check_same_predictions(Learn& learn, Predictor& loaded, const fs::path& extra) {
  const auto items = learn.dls().valid.items();
  std::vector<fs::path> files(items.begin(), items.end());
  files.push_back(extra);
  for (const auto& file : files) {
    INFO(file.string());
    const auto a = learn.dls().valid.inputs({file});
    const auto b = loaded.inputs(file);
    REQUIRE(a.shape() == b.shape());
    CHECK(std::equal(a.data(), a.data() + a.numel(), b.data()));
    const Prediction pa = learn.predict(file);
    const Prediction pb = loaded.predict(file);
    CHECK(pa.label == pb.label);
    CHECK(pa.index == pb.index);
    REQUIRE(pa.probs.size() == pb.probs.size());
    for (std::size_t j = 0; j < pa.probs.size(); ++j) CHECK(std::abs(pa.probs[j] - pb.probs[j]) <= 1e-6);
  }
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

// Rewrites an export with one change (the checksum is recomputed: a well-formed file with a bad value).
void edit_export(const fs::path& from, const fs::path& to, const std::function<void(CheckpointFile&)>& change) {
  CheckpointFile f = load_checkpoint_file(from);
  change(f);
  save_checkpoint_file(to, f);
}

}  // namespace

TEST_CASE("transform specs round-trip exactly and refuse what they cannot read", "[export][spec]") {
  const Resize r{{20, 30}, ResizeMethod::pad, PadMode::zeros};
  CHECK(r.spec() == "Resize size=20,30 method=pad pad_mode=zeros");
  CHECK(Resize::from_spec(TransformSpec::parse(r.spec())).spec() == r.spec());
  const Resize sq = Resize::from_spec(TransformSpec::parse("Resize size=7,7 method=squish pad_mode=border"));
  CHECK(sq.size == SizeHW{7});
  CHECK(sq.method == ResizeMethod::squish);
  CHECK(sq.pad_mode == PadMode::border);

  // Floats that print badly in decimal come back bit for bit.
  const Normalize n{{0.1f, 1.0f / 3.0f, 0.485f}, {0.229f, 3.0e-7f, 123.456f}};
  const Normalize n2 = Normalize::from_spec(TransformSpec::parse(n.spec()));
  CHECK(std::memcmp(n.mean.data(), n2.mean.data(), sizeof n.mean) == 0);
  CHECK(std::memcmp(n.std.data(), n2.std.data(), sizeof n.std) == 0);

  const RandomResizedCrop rrc{.size = {24, 16}, .val_xtra = 0.3};
  const auto rrc2 = RandomResizedCrop::from_spec(TransformSpec::parse(rrc.spec()));
  CHECK(rrc2.size == rrc.size);
  CHECK(rrc2.val_xtra == rrc.val_xtra);

  const auto [affine, lighting] = aug_transforms({.size = {24, 28}, .min_scale = 0.35, .pad_mode = PadMode::border});
  const auto affine2 = AffineCoordTfm::from_spec(TransformSpec::parse(affine.spec()));
  CHECK(affine2.spec() == affine.spec());
  CHECK(affine2.opts.min_scale == 0.35);
  CHECK(affine2.opts.size == SizeHW(24, 28));
  CHECK(LightingTfm::from_spec(TransformSpec::parse(lighting.spec())).spec() == "LightingTfm");
  // The rebuilt augmentation gives the validation output of the original.
  auto batch = Tensor<float>::empty({2, 30, 40, 3});
  for (std::int64_t i = 0; i < batch.numel(); ++i) batch.data()[i] = static_cast<float>((i * 37) % 101) / 100.0f;
  BatchContext valid;
  valid.split = Split::valid;
  const auto want = affine(batch, valid), got = affine2(batch, valid);
  REQUIRE(want.shape() == got.shape());
  CHECK(std::equal(want.data(), want.data() + want.numel(), got.data()));

  // Refusals quote the spec and name the fault.
  auto fails = [](const std::function<void()>& f, const std::string& part) {
    const std::string m = message_of(f);
    INFO(m);
    CHECK(m.find(part) != std::string::npos);
  };
  fails([] { Resize::from_spec(TransformSpec::parse("Resize size=20,30 method=crop")); }, "Resize needs \"pad_mode\"");
  fails([] { Resize::from_spec(TransformSpec::parse("Resize size=20,30 method=fill pad_mode=zeros")); },
        "\"method\" is \"fill\", expected one of: crop, pad, squish");
  fails([] { Resize::from_spec(TransformSpec::parse("Resize size=20,x method=crop pad_mode=zeros")); }, "not a number");
  fails([] { Resize::from_spec(TransformSpec::parse("Resize size=0,3 method=crop pad_mode=zeros")); },
        "two positive integers");
  fails([] { Resize::from_spec(TransformSpec::parse("Resize size=4,4 method=crop pad_mode=zeros p=1")); },
        "unknown key \"p\"");
  fails([] { Normalize::from_spec(TransformSpec::parse("Normalize mean=0,0,0 std=1,1")); }, "needs 3 numbers");
  fails([] { Normalize::from_spec(TransformSpec::parse("Normalize mean=0,0,0 std=1,0,1")); }, "must be positive");
  fails([] { TransformSpec::parse("Resize size"); }, "\"size\" is not key=value");
  fails([] { TransformSpec::parse("Resize a=1 a=2"); }, "given twice");
}

TEST_CASE("an exported resnet18 learner predicts what the learner predicts", "[export]") {
  TempDir t;
  write_dataset(t / "data");
  const fs::path odd = t / "odd.png";  // a size and aspect the learner never saw
  save_png(pattern_image(57, 23, 5), odd);

  SECTION("Resize crop, aug_transforms with a centre crop, Normalize; after a short fit") {
    auto learn = std::apply([&](auto... tf) { return resnet18_learner(t.path(), tf...); }, presizing());
    learn.fit(1, 1e-3);
    const fs::path file = t / "export" / "model.fpp";
    fs::create_directories(file.parent_path());
    export_learner(learn, file);

    // The file says what it holds.
    const CheckpointFile f = load_checkpoint_file(file);
    CHECK(f.meta.at("kind") == "export");
    CHECK(f.meta.at("arch") == "resnet18");
    CHECK(f.meta.at("n_classes") == "3");
    CHECK(f.meta.at("vocab.0") == learn.dls().vocab[0]);
    CHECK(f.meta.at("load") == "load_image");
    CHECK(f.meta.at("item_tfms.count") == "1");
    CHECK(f.meta.at("item_tfms.0") == "Resize size=36,36 method=crop pad_mode=reflection");
    CHECK(f.meta.at("batch_tfms.count") == "3");
    CHECK(f.meta.at("batch_tfms.0") == "AffineCoordTfm size=32,32 min_scale=0.75 mode=bilinear pad_mode=reflection");
    CHECK(f.meta.at("batch_tfms.1") == "LightingTfm");
    CHECK(f.meta.at("batch_tfms.2").rfind("Normalize mean=0.485,0.456,0.406 std=0.229,0.224,0.225", 0) == 0);
    CHECK(f.meta.at("activation") == "softmax");
    CHECK(f.tensors.size() == models::state_dict(learn.model()).tensors.size());  // all model/..., nothing else

    auto loaded = load_learner<models::archs<models::resnet18>>(file);
    CHECK(loaded.arch() == "resnet18");
    CHECK(loaded.vocab() == std::vector<std::string>(learn.dls().vocab.begin(), learn.dls().vocab.end()));
    CHECK(loaded.pipeline().rfind("load_image -> Resize -- {size: 36", 0) == 0);
    check_same_predictions(learn, loaded, odd);
    // The weights are the trained ones: the same resnet18 before training predicts otherwise.
    auto fresh = std::apply([&](auto... tf) { return resnet18_learner(t.path(), tf...); }, presizing());
    const auto p_fresh = fresh.predict(odd).probs, p_loaded = loaded.predict(odd).probs;
    CHECK(std::abs(p_fresh[0] - p_loaded[0]) + std::abs(p_fresh[1] - p_loaded[1]) > 1e-4);
  }

  SECTION("each Resize method, RandomResizedCrop and no batch transform: the spec carries what the pixels need") {
    std::vector<std::vector<float>> inputs;
    auto check_variant = [&](auto learn) {
      const fs::path file = t / "variant.fpp";
      export_learner(learn, file);
      auto loaded = load_learner<models::archs<models::resnet18>>(file);
      check_same_predictions(learn, loaded, odd);
      const auto x = loaded.inputs(odd);
      inputs.emplace_back(x.data(), x.data() + x.numel());
    };
    check_variant(resnet18_learner(t.path(), item_tfms(Resize{{24, 20}, ResizeMethod::crop})));
    check_variant(resnet18_learner(t.path(), item_tfms(Resize{{24, 20}, ResizeMethod::pad, PadMode::zeros})));
    check_variant(resnet18_learner(t.path(), item_tfms(Resize{{24, 20}, ResizeMethod::pad, PadMode::border})));
    check_variant(resnet18_learner(t.path(), item_tfms(Resize{{24, 20}, ResizeMethod::squish})));
    check_variant(resnet18_learner(t.path(), item_tfms(RandomResizedCrop{.size = {24, 20}})));
    // Had a spec lost the method or the pad mode, two of these would be the same pixels.
    for (std::size_t i = 0; i < inputs.size(); ++i)
      for (std::size_t j = i + 1; j < inputs.size(); ++j) {
        INFO(i << " vs " << j);
        CHECK(inputs[i] != inputs[j]);
      }
  }

  SECTION("the ImageBlock's decode options travel: a transparent PNG decodes in the predictor as in training") {
    const fs::path rgba = fs::path(FASTPP_TEST_DATA_DIR) / "fixtures" / "vision" / "alpha_rgba.png";
    const DecodeOptions magenta{.limits = {.max_pixels = 1 << 20}, .alpha = AlphaPolicy::composite_onto({255, 0, 255})};
    auto learn = resnet18_learner_decoding(t.path(), magenta, item_tfms(Resize{24}));
    const fs::path file = t / "alpha.fpp";
    export_learner(learn, file);
    const CheckpointFile f = load_checkpoint_file(file);
    CHECK(f.meta.at("decode.alpha") == "composite 255,0,255");
    CHECK(f.meta.at("decode.max_pixels") == "1048576");
    auto loaded = load_learner<models::archs<models::resnet18>>(file);
    check_same_predictions(learn, loaded, rgba);
    // dropping alpha gives other pixels, so the check above saw the compositing
    auto plain = resnet18_learner(t.path(), item_tfms(Resize{24}));
    const auto a = plain.dls().valid.inputs({rgba}), b = loaded.inputs(rgba);
    CHECK_FALSE(std::equal(a.data(), a.data() + a.numel(), b.data()));
    // a damaged entry is refused by name
    edit_export(file, t / "bad_alpha.fpp", [](CheckpointFile& g) { g.meta["decode.alpha"] = "composite 255,0"; });
    CHECK_THROWS_WITH(load_learner<models::archs<models::resnet18>>(t / "bad_alpha.fpp"),
                      Catch::Contains("decode.alpha") && Catch::Contains("composite 255,0"));
  }
}

TEST_CASE("export_learner refuses what a file cannot describe, and writes nothing", "[export]") {
  TempDir t;
  write_dataset(t / "data", 2, 1);
  const fs::path file = t / "model.fpp";
  auto refused = [&](const std::function<void()>& f, std::initializer_list<std::string> parts) {
    const std::string m = message_of(f);
    INFO(m);
    for (const auto& p : parts) CHECK(m.find(p) != std::string::npos);
    CHECK_FALSE(fs::exists(file));
  };

  // A transform of the user's own, without a spec.
  auto custom_tfm = resnet18_learner(t.path(), item_tfms(Resize{16}), batch_tfms(Brighten{}));
  refused([&] { export_learner(custom_tfm, file); }, {"'Brighten'", "batch transform", "no spec()", file.string()});

  // A decoder of the user's own.
  VisionLearnerOptions o;
  o.learner = quiet(t.path());
  auto own_loader = vision_learner<models::resnet18>(
      DataBlock{Blocks{ImageBlock{.load = [](const fs::path& p) { return load_image(p); }}, CategoryBlock{}},
                get_image_files, GrandparentSplitter{}, parent_label, item_tfms(Resize{16})}
          .dataloaders(t / "data", {.bs = 2, .num_workers = 0}),
      {}, o);
  refused([&] { export_learner(own_loader, file); }, {"decodes with a function of your own", file.string()});

  // A model given by hand has no architecture name to rebuild it by.
  auto dls = DataBlock{Blocks{ImageBlock{}, CategoryBlock{}}, get_image_files, GrandparentSplitter{}, parent_label,
                       item_tfms(Resize{16})}
                 .dataloaders(t / "data", {.bs = 2, .num_workers = 0});
  auto custom = make_learner(std::move(dls), models::make_fastai_model<models::resnet18>(3), {}, quiet(t.path()));
  refused([&] { export_learner(custom, file); }, {"\"custom\"", "make_model", file.string()});
}

TEST_CASE("load_learner refuses a file it cannot turn into a predictor, naming the file and the fault", "[export]") {
  TempDir t;
  write_dataset(t / "data", 2, 1);
  auto learn = resnet18_learner(t.path(), item_tfms(Resize{16}), batch_tfms(Normalize::from_stats(imagenet_stats)));
  const fs::path good = t / "good.fpp";
  export_learner(learn, good);
  using R18 = models::archs<models::resnet18>;
  auto refused = [&](const fs::path& file, std::initializer_list<std::string> parts) {
    const std::string m = message_of([&] { load_learner<R18>(file); });
    INFO(m);
    CHECK(m.find(file.string()) != std::string::npos);
    for (const auto& p : parts) CHECK(m.find(p) != std::string::npos);
  };
  REQUIRE_NOTHROW(load_learner<R18>(good));

  refused(t / "missing.fpp", {"does not exist"});
  // A flipped byte in the weights.
  {
    std::vector<char> bytes;
    {
      std::ifstream in(good, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    bytes[bytes.size() - 100] ^= 0x10;
    std::ofstream(t / "damaged.fpp", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    refused(t / "damaged.fpp", {"checksum"});
  }
  // learn.save's training checkpoint.
  refused(learn.save("ckpt"), {"kind \"learner\", not an export", "export_learner"});
  // An architecture this program did not list.
  edit_export(good, t / "r34.fpp", [](CheckpointFile& f) { f.meta["arch"] = std::string("resnet34"); });
  refused(t / "r34.fpp", {"unknown architecture \"resnet34\"", "load_learner<models::archs<...>>"});
  // Weights that do not fit the architecture's head.
  edit_export(good, t / "classes.fpp", [](CheckpointFile& f) {
    f.meta["n_classes"] = std::string("4");
    f.meta["vocab.count"] = std::string("4");
    f.meta["vocab.3"] = std::string("violet");
  });
  refused(t / "classes.fpp", {"the weights do not fit resnet18 with 4 classes", "shape"});
  // Transforms it cannot rebuild.
  edit_export(good, t / "flip.fpp", [](CheckpointFile& f) { f.meta["item_tfms.0"] = std::string("FlipItem p=0.5"); });
  refused(t / "flip.fpp", {"item transform 0", "no item transform \"FlipItem\""});
  edit_export(good, t / "norm.fpp", [](CheckpointFile& f) { f.meta["batch_tfms.0"] = std::string("Normalize mean=0,0,0"); });
  refused(t / "norm.fpp", {"batch transform 0", "Normalize needs \"std\""});
  edit_export(good, t / "count.fpp", [](CheckpointFile& f) { f.meta["batch_tfms.count"] = std::string("2"); });
  refused(t / "count.fpp", {"lacks metadata entry \"batch_tfms.1\""});
  edit_export(good, t / "decoder.fpp", [](CheckpointFile& f) { f.meta["load"] = std::string("load_webp"); });
  refused(t / "decoder.fpp", {"unknown image decoder \"load_webp\""});

  // predict names a file it cannot read.
  auto loaded = load_learner<R18>(good);
  CHECK_THROWS_WITH(loaded.predict(t / "nothing.png"), Catch::Contains("nothing.png"));
}

// Run by CTest before tests/consumer/predict (FIXTURES_SETUP): trains a resnet18 for one epoch (three
// batches of four images), exports it to $FASTPP_EXPORT_OUT/model.fpp with a query image query.png, and writes
// expected.txt: the label and index that learn.predict gives for the query and bounds 1e-5 either side of
// its probability, for the consumer's output to be compared with (tests/consumer/run_predict.cmake).
TEST_CASE("write the consumer's export", "[.consumer]") {
  const char* out_env = std::getenv("FASTPP_EXPORT_OUT");
  REQUIRE(out_env != nullptr);
  const fs::path out = out_env;
  fs::create_directories(out);
  TempDir t;
  write_dataset(t / "data");
  auto learn = std::apply([&](auto... tf) { return resnet18_learner(t.path(), tf...); }, presizing());
  learn.fit(1, 1e-3);
  export_learner(learn, out / "model.fpp");
  save_png(pattern_image(41, 29, 9), out / "query.png");
  const Prediction p = learn.predict(out / "query.png");
  const float top = p.probs[static_cast<std::size_t>(p.index)];
  std::ofstream(out / "expected.txt") << std::setprecision(9) << p.label << '\n' << p.index << '\n'
                                      << top - 1e-5 << '\n' << top + 1e-5 << '\n';
  auto loaded = load_learner<models::archs<models::resnet18>>(out / "model.fpp");
  CHECK(loaded.predict(out / "query.png").label == p.label);
}
