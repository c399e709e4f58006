// The chapter, end to end: a DataBlock on real labelled images, summary, show_batch, lr_find, training
// (fit_one_cycle or fine_tune), interpretation with its plots, the trained model exported.
//
//   pets [--data fashion|pets|FOLDER] [--arch fashion_resnet|resnet18|resnet34] [--epochs 5] [--bs 256]
//        [--lr 1e-2|find] [--recipe one_cycle|fine_tune] [--pretrained FILE.safetensors]
//        [--precision float|fp16] [--threads N] [--workers N] [--limit N] [--out DIR] [--fashion-folder DIR]
//        [--report FILE.html] [--distributed [--sync-bn] [--no-overlap]] [--cuda]
//
// --data fashion (the default) reads data/fashion, the folders examples/export_fashion_mnist writes from
// Debian's dataset-fashion-mnist (the official 60k/10k split); pets is the Oxford-IIIT Pets folder that
// `untar_data` (examples/download) extracts, labelled from file names; any other value is a folder of
// images labelled by their parent folder, split by train/ and valid/ when it has them, else 80/20.
//
// --distributed: one rank of a data-parallel run over MPI (built where fastpp::mpi is found), launched as
//   mpirun -np 2 -x FASTPP_NUM_THREADS=1 build/main/examples/pets --distributed ...
// --bs is then the batch of each rank (the global batch is ranks x bs); rank 0 alone prints and writes
// files; the interpretation runs on rank 0 over the whole validation set once training is done.
//
// --cuda: the model, its training and its evaluation on the GPU (a build with fastpp::cuda: configure with
// -DFASTPP_CUDA=ON, which pets then links); the loaders' workers decode and collate on the cpu, and the
// Learner runs the batch augmentation on the GPU (uint8 batches copied once). With --precision fp16 the model
// has half activations (tensor cores) and float weights. Without fastpp::cuda the flag is refused, saying how
// to build it.
#include <fastpp/interpret.hpp>
#include <fastpp/learner.hpp>
#include <fastpp/vision.hpp>
#if defined(FASTPP_HAVE_MPI)
#include <fastpp/distributed/mpi.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <functional>
#include <map>
#include <optional>
#include <streambuf>
#include <string>
#include <type_traits>

using namespace fastpp;
namespace fs = std::filesystem;

namespace {

struct Options {
  std::string data = "fashion";
  std::string arch = "fashion_resnet";
  int epochs = 5;
  std::int64_t bs = 256;
  std::string lr = "1e-2";
  std::string recipe = "one_cycle";
  fs::path pretrained;
  std::string precision = "float";
  int threads = 0;
  int workers = -1;
  std::int64_t limit = 0;
  fs::path out = "pets-out";
  fs::path fashion_folder = "data/fashion";
  fs::path pets_folder;  // where --data pets reads; empty: ~/.fastpp/data/oxford-iiit-pet/images
  fs::path report;  // the training report (HTML), rewritten after every epoch; empty: none
  std::int64_t size = 224;  // the training size for pets and folders (Resize to it, then aug_transforms)
  bool distributed = false;  // one rank of an MPI data-parallel run
  bool sync_bn = false;      // --distributed: BatchNorm statistics over all ranks (SyncBatchNorm)
  bool no_overlap = false;   // --distributed: one gradient all-reduce after backward (the measurement's baseline)
  bool cuda = false;         // the model on the GPU (a build with fastpp::cuda)
};

const char* usage =
    "usage: pets [--data fashion|pets|FOLDER] [--arch fashion_resnet|resnet18|resnet34] [--epochs N] [--bs N]\n"
    "            [--lr RATE|find] [--recipe one_cycle|fine_tune] [--pretrained FILE.safetensors]\n"
    "            [--precision float|fp16] [--threads N] [--workers N] [--limit N] [--out DIR]\n"
    "            [--fashion-folder DIR] [--report FILE.html] [--size N]\n"
    "            [--distributed [--sync-bn] [--no-overlap]] [--cuda]\n"
    "  --data       fashion (data/fashion from export_fashion_mnist, default), pets (untar_data's folder) or a\n"
    "               folder of images labelled by their parent folder\n"
    "  --arch       fashion_resnet (a 0.3M-parameter ResNet for 28x28 images, default) or a torchvision ResNet\n"
    "  --lr         the peak learning rate, or `find` to take lr_find's valley suggestion (default 1e-2)\n"
    "  --recipe     one_cycle: fit_one_cycle from the weights as they are; fine_tune: fastai's fine_tune\n"
    "  --pretrained weights for the ResNet body: torchvision's (scripts/export_torchvision_weights.py) or a\n"
    "               checkpoint of an earlier run of the same --arch (OUT/models/final.safetensors)\n"
    "  --size       the training image size for pets and folders (default 224; Fashion-MNIST stays at 28)\n"
    "  --limit      use the first N training and N/5 validation images only (a quick run)\n"
    "  --out        where the plots, the history, the report and the exported model go (default pets-out)\n"
    "  --fashion-folder  where --data fashion reads (default data/fashion)\n"
    "  --pets-folder where --data pets reads: any folder of Name_N.jpg files (default\n"
    "               ~/.fastpp/data/oxford-iiit-pet/images; benchmarks/compare/make_image_sets.py writes a\n"
    "               pets-sized one to data/image_bench/pets)\n"
    "  --report     write the training report there (one HTML file, rewritten after every epoch: open it in a\n"
    "               browser to watch the run)\n"
    "  --distributed  one rank of a data-parallel run over MPI: mpirun -np 2 -x FASTPP_NUM_THREADS=1 pets\n"
    "               --distributed ...; --bs is per rank; rank 0 prints and writes the files\n"
    "  --sync-bn    with --distributed: synchronised BatchNorm (statistics of the global batch)\n"
    "  --no-overlap with --distributed: all gradients in one all-reduce after backward, not overlapped\n"
    "  --cuda       the model on the GPU (needs a build with fastpp::cuda: cmake -DFASTPP_CUDA=ON)\n";

[[noreturn]] void bad_usage(const std::string& why) {
  std::cerr << "pets: " << why << "\n" << usage;
  std::exit(2);
}

template <class T>
T number(const std::string& flag, const std::string& v) {
  try {
    std::size_t used = 0;
    const double d = std::stod(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    if constexpr (std::is_integral_v<T>) {
      if (d != static_cast<double>(static_cast<T>(d)) || d < 0) throw std::invalid_argument(v);
    }
    return static_cast<T>(d);
  } catch (const std::exception&) {
    bad_usage(flag + " needs a " + (std::is_integral_v<T> ? "whole non-negative number" : "number") + ", got \"" + v + "\"");
  }
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      std::exit(0);
    }
    if (a == "--distributed") {
      o.distributed = true;
      continue;
    }
    if (a == "--sync-bn" || a == "--no-overlap") {
      (a == "--sync-bn" ? o.sync_bn : o.no_overlap) = true;
      continue;
    }
    if (a == "--cuda") {
      o.cuda = true;
      continue;
    }
    if (i + 1 >= argc) bad_usage("option " + a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--data") o.data = v;
    else if (a == "--arch") o.arch = v;
    else if (a == "--epochs") o.epochs = number<int>(a, v);
    else if (a == "--bs") o.bs = number<std::int64_t>(a, v);
    else if (a == "--lr") o.lr = v;
    else if (a == "--recipe") o.recipe = v;
    else if (a == "--pretrained") o.pretrained = v;
    else if (a == "--size") o.size = number<std::int64_t>(a, v);
    else if (a == "--precision") o.precision = v;
    else if (a == "--threads") o.threads = number<int>(a, v);
    else if (a == "--workers") o.workers = number<int>(a, v);
    else if (a == "--limit") o.limit = number<std::int64_t>(a, v);
    else if (a == "--out") o.out = v;
    else if (a == "--fashion-folder") o.fashion_folder = v;
    else if (a == "--pets-folder") o.pets_folder = v;
    else if (a == "--report") o.report = v;
    else bad_usage("unknown option " + a);
  }
  if (o.recipe != "one_cycle" && o.recipe != "fine_tune") bad_usage("--recipe is one_cycle or fine_tune, got " + o.recipe);
  if (o.precision != "float" && o.precision != "fp16") bad_usage("--precision is float or fp16, got " + o.precision);
  if (o.lr != "find") number<double>("--lr", o.lr);
  if (o.bs < 1) bad_usage("--bs must be at least 1");
  if (o.size < 8) bad_usage("--size must be at least 8");
  if (o.epochs < 1) bad_usage("--epochs must be at least 1");
  // this example's data-parallel run is MPI over cpu processes
  if (o.cuda && o.distributed) bad_usage("--cuda and --distributed are not combined in this example");
  return o;
}

// The first n items of each split (a quick run): the train split keeps n, the valid split n / 5.
struct LimitedSplit {
  std::function<Splits(const L<fs::path>&)> inner;
  std::int64_t n = 0;
  Splits operator()(const L<fs::path>& items) const {
    Splits s = inner(items);
    if (n > 0) {
      auto cut = [](auto& v, std::int64_t k) {
        if (static_cast<std::int64_t>(v.size()) > k) {
          // every k-th item rather than the first k, so every class keeps some items (files are sorted by class)
          const double stride = static_cast<double>(v.size()) / static_cast<double>(k);
          std::decay_t<decltype(v)> kept;
          for (std::int64_t i = 0; i < k; ++i) kept.push_back(v[static_cast<std::size_t>(static_cast<double>(i) * stride)]);
          v = std::move(kept);
        }
      };
      cut(s.train, n);
      cut(s.valid, std::max<std::int64_t>(1, n / 5));
    }
    return s;
  }
};

DataLoaders make_dls(const Options& o, fs::path& folder) {
  const DataLoaderOptions lo{.bs = o.bs, .num_workers = o.workers, .seed = 0};
  if (o.data == "fashion") {
    folder = o.fashion_folder;
    if (!fs::exists(folder / "train"))
      throw IoError(folder.string(), "no Fashion-MNIST folder: write it with examples/export_fashion_mnist "
                                     "(scripts/main.sh does) or pass --data FOLDER");
    auto block = DataBlock{blocks<ImageBlock, CategoryBlock>,
                           get_image_files,
                           LimitedSplit{GrandparentSplitter{}, o.limit},
                           using_attr(RegexLabeller{R"((.+)_\d+\.png$)"}, file_name),
                           batch_tfms(aug_transforms({.do_flip = true, .max_rotate = 0, .max_zoom = 1,
                                                      .max_lighting = 0, .max_warp = 0}),
                                      Normalize::from_stats({{0.286f, 0.286f, 0.286f}, {0.353f, 0.353f, 0.353f}}))};
    block.summary(folder, std::cout);
    return block.dataloaders(folder, lo);
  }
  if (o.data == "pets") {
    folder = !o.pets_folder.empty()
                 ? o.pets_folder
                 : fs::path(std::getenv("HOME") ? std::getenv("HOME") : ".") / ".fastpp/data/oxford-iiit-pet/images";
    if (!fs::exists(folder))
      throw IoError(folder.string(), "no Oxford-IIIT Pets folder: fetch it with build/main/examples/download/untar_data "
                                     "pets (it needs the network), or pass --data FOLDER");
    auto block = DataBlock{blocks<ImageBlock, CategoryBlock>,
                           get_image_files,
                           LimitedSplit{RandomSplitter{.valid_pct = 0.2, .seed = 42}, o.limit},
                           using_attr(RegexLabeller{R"(^(.+)_\d+\.jpg$)"}, file_name),
                           item_tfms(Resize{o.size * 460 / 224}),  // presizing: 460 for 224, as the chapter
                           batch_tfms(aug_transforms({.size = o.size, .min_scale = 0.75}),
                                      Normalize::from_stats(imagenet_stats))};
    block.summary(folder, std::cout);
    return block.dataloaders(folder, lo);
  }
  folder = o.data;
  if (!fs::is_directory(folder)) throw IoError(folder.string(), "--data: not fashion, pets or a folder");
  const bool has_split = fs::is_directory(folder / "train") && fs::is_directory(folder / "valid");
  std::function<Splits(const L<fs::path>&)> split;
  if (has_split) split = GrandparentSplitter{};
  else split = RandomSplitter{.valid_pct = 0.2, .seed = 42};
  auto block = DataBlock{blocks<ImageBlock, CategoryBlock>,
                         get_image_files,
                         LimitedSplit{split, o.limit},
                         parent_label,
                         item_tfms(Resize{o.size}),
                         batch_tfms(aug_transforms({.size = o.size, .min_scale = 0.75}), Normalize::from_stats(imagenet_stats))};
  block.summary(folder, std::cout);
  return block.dataloaders(folder, lo);
}

// The 0.3M-parameter ResNet of the PyTorch baseline (docs/pytorch-baseline's SmallResNet): a 3x3 stem of 16
// channels, three stride-2 residual stages of 32, 64 and 128 channels, average pooling, a linear layer.
using FashionResNet = nn::Sequential<nn::Conv2d<3, 16, nn::ConvOpts{.kernel = 3, .padding = 1, .bias = false}>,
                                     nn::BatchNorm2d<16>, nn::ReLU, nn::BasicBlock<16, 32, 2>, nn::BasicBlock<32, 64, 2>,
                                     nn::BasicBlock<64, 128, 2>, nn::AdaptiveAvgPool2d<1>, nn::Flatten,
                                     nn::Linear<128, nn::dyn>>;

// The learner of every --arch on device D (cpu, or cuda with --cuda), activations of type T (half with
// --cuda --precision fp16: tensor cores, float weights; on the cpu fp16 is emulated by a float model).
template <class D, class T = float>
using PetsLearner = AnyLearnerOf<DataLoaders, D, T>;

template <class D, class T>
PetsLearner<D, T> make_learn(const Options& o, DataLoaders dls) {
  LearnerOptions lo;
  lo.path = o.out;
  VisionLearnerOptions vo;
  vo.weights = o.pretrained;
  vo.learner = lo;
  if (o.arch == "fashion_resnet") {
    if (!o.pretrained.empty()) bad_usage("--pretrained needs a ResNet --arch (resnet18 or resnet34)");
    nn::on_device_t<FashionResNet, D, T> net(nn::Build{Rng(0), dls.c});
    // two groups: the body and the classifier, so fine_tune has something to freeze
    net.for_each_param([](const std::string& n, auto& p) { p.group = n.rfind("8.", 0) == 0 ? 1 : 0; });
    return PetsLearner<D, T>(std::move(dls), models::AnyModelOn<D, T>(std::move(net), "fashion_resnet"), {},
                          metrics(error_rate, accuracy), lo, AdamOptions{}, "fashion_resnet");
  }
  return any_vision_learner<models::archs<models::resnet18, models::resnet34>, D, T>(
      std::move(dls), o.arch, metrics(error_rate, accuracy), vo);
}

// Prints the seconds the training pass waited for the loader in each epoch (the loop should never wait).
struct DataWait final : Callback {
  std::string name() const override { return "DataWait"; }
  int order() const override { return 70; }
  void after_epoch(LearnerBase& l) override {
    const double share = l.state.epoch_seconds > 0 ? 100.0 * l.state.data_wait_seconds / l.state.epoch_seconds : 0.0;
    std::cout << "  epoch " << l.state.epoch << ": waited " << l.state.data_wait_seconds << " s for data ("
              << share << "% of the epoch)\n";
  }
};

// Discards what is written to it: the output of ranks other than 0.
struct NullBuffer final : std::streambuf {
  int overflow(int c) override { return c; }
};

// The chapter's run, the model on device D. `distribute` makes the learner one rank of an MPI run (empty: a
// single process); main_rank: this process prints, plots and writes files.
template <class D, class T = float>
int run(const Options& o, bool main_rank,
        const std::type_identity_t<std::function<void(PetsLearner<D, T>&)>>& distribute) {  // not deduced
  if (o.threads > 0) set_num_threads(o.threads);
  if (main_rank) fs::create_directories(o.out);
  fs::path folder;
  auto dls = make_dls(o, folder);
  std::cout << "\n" << dls.train.n_items() << " training and " << dls.valid.n_items() << " validation images, "
            << dls.c << " classes; " << get_num_threads() << " threads\n";
  if (main_rank) show_batch(dls, o.out / "show_batch.svg", {.max_n = 16});
  const auto whole_valid = dls.valid;  // for the interpretation, which rank 0 runs alone
  if constexpr (!std::is_same_v<D, cpu>) {
    std::cout << "model on " << device_name<D> << "\n";
    // The GPU's augmentation pass (data/device_batch.hpp) takes aug_transforms + Normalize only.
    if (const std::string why = dls.train.device_batch_tfms_reason(); !why.empty())
      std::cout << "the batch transforms run on the cpu: " << why << "\n";
  }
  auto learn = make_learn<D, T>(o, std::move(dls));
  if (o.precision == "fp16") learn.to_fp16();
  std::shared_ptr<HtmlReport> report;
  if (main_rank) {
    learn.add_cb(std::make_shared<DataWait>());
    learn.add_cb(std::make_shared<CSVLogger>(o.out / "history.csv"));
    if (!o.report.empty()) report = add_html_report(learn, o.report, {.title = "pets: " + o.arch + " on " + o.data});
  }
  if (distribute) distribute(learn);

  double lr = 0;
  if (o.lr == "find") {
    const auto r = learn.lr_find({.plot = main_rank ? o.out / "lr_find.svg" : fs::path{}});
    lr = r.valley.lr;  // the same on every rank: the losses are averaged over ranks each step
    if (main_rank) {
      plot_lr_find(r, o.out / "lr_find.svg");
      if (report) report->lr_find(r, lr);
    }
    std::cout << "lr_find: valley " << r.valley.lr << ", minimum " << r.minimum.lr << ", steep " << r.steep.lr
              << ", slide " << r.slide.lr << " (plot: " << (o.out / "lr_find.svg").string() << ")\n";
  } else {
    lr = std::stod(o.lr);
  }
  const auto t0 = std::chrono::steady_clock::now();
  if (o.recipe == "fine_tune") learn.fine_tune(o.epochs, lr);
  else learn.fit_one_cycle(o.epochs, lr);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto v = learn.validate();
  std::cout << "\nvalid_loss " << v[0] << ", error_rate " << v[1] << ", accuracy " << v[2] << " after " << secs
            << " s of training\n";
  learn.save("final");  // every rank calls it; rank 0 writes
  if (!main_rank) return 0;
  if (learn.process_group()) {
    // rank 0 alone from here: the whole validation set, no more collectives
    learn.dls().valid = whole_valid;
    learn.set_process_group(nullptr);
  }

  auto interp = ClassificationInterpretation::from_learner(learn);
  interp.print_classification_report(std::cout);
  std::cout << "most confused:\n";
  int shown = 0;
  for (const auto& c : interp.most_confused(1)) {
    if (shown++ == 8) break;
    std::cout << "  " << c.actual << " taken for " << c.predicted << ": " << c.count << "\n";
  }
  interp.plot_confusion_matrix(o.out / "confusion_matrix.svg");
  interp.plot_top_losses(9, o.out / "top_losses.svg");
  plot_loss(learn.recorder(), o.out / "loss.svg");
  plot_sched(learn.recorder(), o.out / "sched.svg");
  if (learn.arch() != "fashion_resnet") export_learner(learn, o.out / "model.fpp");
  if (report) {
    report->finish();
    std::cout << "report: " << o.report.string() << "\n";
  }
  std::cout << "\nwrote " << (o.out / "show_batch.svg").string() << ", confusion_matrix.svg, top_losses.svg, loss.svg, "
            << "sched.svg, history.csv" << (o.lr == "find" ? ", lr_find.svg" : "")
            << (learn.arch() != "fashion_resnet" ? ", model.fpp" : "") << " and models/final.safetensors in "
            << o.out.string() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (o.distributed) {
#if defined(FASTPP_HAVE_MPI)
    MpiSession mpi(argc, argv);
    NullBuffer null;
    std::streambuf* const console = std::cout.rdbuf();
    if (!mpi.is_main()) std::cout.rdbuf(&null);  // rank 0 prints; errors (std::cerr) from every rank
    std::cout << "distributed: " << mpi.size() << " ranks\n";
    // an error on any rank ends the whole job with it shown (not a hang in the next collective)
    const int rc = run_distributed([&] { return run<cpu>(o, mpi.is_main(), [&](AnyLearner& l) {
      DistributedOptions d;
      d.sync_batchnorm = o.sync_bn;
      if (o.no_overlap) {
        d.overlap = false;
        d.first_bucket_bytes = d.bucket_bytes;
      }
      distributed(l, mpi, d);
    }); });
    std::cout.rdbuf(console);
    return rc;
#else
    std::cerr << "pets: --distributed needs a build with MPI (fastpp::mpi; Debian: openmpi-bin libopenmpi-dev)\n";
    return 2;
#endif
  }
  try {
    if (o.cuda) {
#if defined(FASTPP_WITH_CUDA)
      if (o.precision == "fp16") return run<cuda, half>(o, true, {});  // half activations, float weights
      return run<cuda>(o, true, {});
#else
      std::cerr << "pets: --cuda needs a build with the CUDA backend (fastpp::cuda): configure with "
                   "-DFASTPP_CUDA=ON (nvcc and cuDNN installed), and the examples link it\n";
      return 2;
#endif
    }
    return run<cpu>(o, true, {});
  } catch (const Error& e) {
    std::cerr << "pets: " << e.what() << "\n";
    return 1;
  }
}
