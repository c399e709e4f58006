#pragma once
// A scratch folder for one process of an mpi test, under FASTPP_TEST_WORK_DIR when CTest sets it (a folder
// of the build tree that the mpi_work fixture empties before the tests and removes after them), else under
// the system's temporary folder. Removed when it goes out of scope; a job that aborts (MPI_Abort, the point
// of some of these tests) runs no destructor, and then the fixture's cleanup removes what it left.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace fastpp::test {

class WorkDir {
 public:
  explicit WorkDir(const std::string& name) {
    static std::atomic<int> counter{0};
    const char* root = std::getenv("FASTPP_TEST_WORK_DIR");
    const std::filesystem::path base = root && *root ? std::filesystem::path(root) : std::filesystem::temp_directory_path();
    path_ = base / ("fastpp_mpi_" + name + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  ~WorkDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

 private:
  std::filesystem::path path_;
};

}  // namespace fastpp::test
