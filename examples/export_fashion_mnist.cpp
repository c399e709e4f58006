// Writes Debian's dataset-fashion-mnist as a folder of PNGs for the chapter's recipe:
//   <out>/train/<Class>/<Class>_<n>.png (60000) and <out>/valid/<Class>/<Class>_<n>.png (10000).
//
//   export_fashion_mnist [--src DIR] [--out DIR] [--limit N]
//     --src    the IDX .gz files (default /usr/share/datasets/fashion-mnist; apt install dataset-fashion-mnist)
//     --out    where to write (default data/fashion, which git ignores)
//     --limit  at most N images of each class per split (a small subset for quick runs)
#include <fastpp/data/fashion_mnist.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  std::filesystem::path src = fastpp::fashion_mnist_debian_dir, out = "data/fashion";
  fastpp::FashionExportOptions opts;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--src" && has_value) src = argv[++i];
    else if (a == "--out" && has_value) out = argv[++i];
    else if (a == "--limit" && has_value) opts.limit_per_class = std::atoll(argv[++i]);
    else {
      std::cerr << "usage: " << argv[0] << " [--src DIR] [--out DIR] [--limit N]\n";
      return 2;
    }
  }
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const auto counts = fastpp::export_fashion_mnist(src, out, opts);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "wrote " << counts.train << " train and " << counts.valid << " valid images to " << out.string()
              << " in " << s << " s\n";
  } catch (const std::exception& e) {
    std::cerr << "export_fashion_mnist: " << e.what() << '\n';
    if (!std::filesystem::exists(src))
      std::cerr << "(the dataset is Debian's dataset-fashion-mnist: apt install dataset-fashion-mnist)\n";
    return 1;
  }
  return 0;
}
