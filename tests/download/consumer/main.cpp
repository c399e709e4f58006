// Compiles and links the whole download header against the installed package, then calls into libcurl and
// libarchive without touching the network: an offline untar_data must fail at once with an IoError.
#include <fastpp/io/download.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

int main() {
  char templ[] = "/tmp/fastpp-consumer-XXXXXX";
  if (!mkdtemp(templ)) return 1;
  const std::filesystem::path home = templ;
  int rc = 1;
  try {
    fastpp::untar_data(fastpp::urls::pets, {.dest = home / "data",
                                            .force_download = false,
                                            .check = std::nullopt,
                                            .archive_dir = home / "archive",
                                            .offline = true});
  } catch (const fastpp::IoError& e) {
    std::printf("offline as expected: %s\n", e.what());
    rc = 0;
  }
  std::filesystem::remove_all(home);
  return rc;
}
