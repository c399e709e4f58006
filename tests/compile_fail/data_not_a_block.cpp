// A DataBlock's blocks must satisfy the Block concept (data/block.hpp): a target "block" that names no
// item_type and no name() must not compile, and the message says what a Block needs.
// expect: DataBlock: the target block is not a Block
#include <fastpp/data.hpp>

using namespace fastpp;

struct JustLabels {  // what someone might write first: a vocabulary, but nothing a DataBlock can call
  std::vector<std::string> vocab;
};

int main() {
#ifdef FASTPP_SHOULD_FAIL
  auto db = DataBlock{Blocks{ImageBlock{}, JustLabels{}}, get_image_files, RandomSplitter{}, parent_label};
#else
  auto db = DataBlock{Blocks{ImageBlock{}, CategoryBlock{}}, get_image_files, RandomSplitter{}, parent_label};
#endif
  return static_cast<int>(db.item_steps().size());
}
