// Including the download header without linking fastpp::download (which brings libcurl and libarchive and
// defines FASTPP_HAVE_DOWNLOAD) must stop with a message naming the Debian packages and the target.
// expect: install Debian's libcurl4-openssl-dev and libarchive-dev, then link the CMake target fastpp::download
#ifdef FASTPP_SHOULD_FAIL
#include <fastpp/io/download.hpp>
#else
#include <fastpp/io/download/check.hpp>
#include <fastpp/io/download/urls.hpp>
#endif

int main() { return fastpp::urls::find_by_name("pets") && fastpp::md5_hex("").size() == 32 ? 0 : 1; }
