// A CategoryBlock needs string labels: a get_y returning a number must not compile.
// expect: get_y must turn an item into a label of the target block's label_type
#include <fastpp/data.hpp>

using namespace fastpp;

int main() {
#ifdef FASTPP_SHOULD_FAIL
  auto get_y = [](const std::filesystem::path& p) { return p.string().size(); };
#else
  auto get_y = [](const std::filesystem::path& p) { return p.parent_path().filename().string(); };
#endif
  auto db = DataBlock{blocks<ImageBlock, CategoryBlock>, get_image_files, RandomSplitter{}, get_y};
  // Instantiating datasets() checks get_y against the items get_image_files returns.
  if (false) (void)db.datasets(std::filesystem::path("."));
  return 0;
}
