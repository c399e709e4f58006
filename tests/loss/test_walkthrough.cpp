// examples/softmax_walkthrough.cpp prints the numbers PyTorch prints for the chapter's walk-through
// (tests/fixtures/loss/walkthrough.txt): every step's numbers agree to PyTorch's printed precision.
// own translation unit: it includes an example program whole, with its own helpers.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#define FASTPP_WALKTHROUGH_NO_MAIN
#include "../../examples/softmax_walkthrough.cpp"

namespace {
struct Number {
  double value;
  double half_unit;  // half a unit in the last printed digit
};
// Splits text into "## title" sections and pulls the numbers out of each (ignoring "shape=[6, 2]").
std::map<std::string, std::vector<Number>> sections(const std::string& text) {
  std::map<std::string, std::vector<Number>> out;
  std::istringstream in(text);
  std::string line, title;
  const std::regex number(R"((-?\d+\.(\d+))(e([-+]\d+))?)");
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0) continue;
    if (line.rfind("## ", 0) == 0) {
      title = line.substr(3);
      continue;
    }
    const auto cut = line.find("shape=");
    if (cut != std::string::npos) line = line.substr(0, cut);
    for (std::sregex_iterator it(line.begin(), line.end(), number), end; it != end; ++it) {
      const auto& m = *it;
      const int decimals = static_cast<int>(m[2].length());
      const int exponent = m[4].matched ? std::stoi(m[4].str()) : 0;
      out[title].push_back({std::stod(m[0].str()), 0.5 * std::pow(10.0, exponent - decimals)});
    }
  }
  return out;
}
}  // namespace

TEST_CASE("the softmax walk-through prints PyTorch's numbers", "[loss]") {
  std::ifstream f(std::string(FASTPP_TEST_DATA_DIR) + "/fixtures/loss/walkthrough.txt");
  REQUIRE(f);
  std::stringstream torch_text;
  torch_text << f.rdbuf();
  std::ostringstream ours;
  ours.precision(17);
  walkthrough::run(ours);

  const auto want = sections(torch_text.str());
  const auto got = sections(ours.str());
  REQUIRE(want.size() == 11);
  CHECK(got.size() == want.size());
  for (const auto& [title, numbers] : want) {
    INFO(title);
    REQUIRE(got.count(title) == 1);
    const auto& mine = got.at(title);
    REQUIRE(mine.size() == numbers.size());
    for (std::size_t i = 0; i < numbers.size(); ++i) {
      INFO("number " << i << ": PyTorch " << numbers[i].value << ", fastpp " << mine[i].value);
      // equal once both are rounded to the coarser of the two printed precisions
      CHECK(std::fabs(mine[i].value - numbers[i].value) <= numbers[i].half_unit + mine[i].half_unit + 1e-12);
    }
  }
}
