// untar_data <url-or-name>: downloads (once), verifies and extracts a dataset, then prints its folder.
//   untar_data pets                 fastai's URLs.PETS, checked with fastai's size and MD5
//   untar_data https://host/x.tgz   any tar/tgz/zip archive
//   untar_data --list               the dataset names this build knows
// The cache is $FASTPP_HOME (default ~/.fastpp); FASTPP_OFFLINE=1 forbids the network.
#include <fastpp/io/download.hpp>

#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <url-or-name> | --list\n", argv[0]);
    return 2;
  }
  const std::string arg = argv[1];
  if (arg == "--list") {
    for (const auto& d : fastpp::urls::known_datasets)
      std::printf("%-20s %12llu bytes  %.*s\n", std::string(d.name).c_str(), static_cast<unsigned long long>(d.size),
                  static_cast<int>(d.url.size()), d.url.data());
    return 0;
  }
  std::string url = arg;
  if (arg.find("://") == std::string::npos) {
    const auto known = fastpp::urls::find_by_name(arg);
    if (!known) {
      std::fprintf(stderr, "untar_data: '%s' is neither a URL nor a known dataset name (see --list)\n", arg.c_str());
      return 2;
    }
    url = std::string(known->url);
  }
  try {
    std::printf("%s\n", fastpp::untar_data(url).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "untar_data: %s\n", e.what());
    return 1;
  }
  return 0;
}
