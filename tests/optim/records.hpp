#pragma once
// Reads the fixtures of tests/fixtures/optim/: one record per line, a few words then numbers (17
// significant digits, "nan" for NaN), # starting a comment. Each record comes back as its words split.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace optim_test {

using Record = std::vector<std::string>;

inline std::vector<Record> read_records(const std::string& file) {
  const std::string path = std::string(FASTPP_TEST_DATA_DIR) + "/fixtures/optim/" + file;
  std::ifstream in(path);
  REQUIRE(in.good());  // regenerate with /usr/bin/python3 tests/fixtures/optim/make_*.py
  std::vector<Record> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    Record r;
    for (std::string w; words >> w;) r.push_back(w);
    out.push_back(std::move(r));
  }
  REQUIRE(!out.empty());
  return out;
}

inline double num(const std::string& s) {
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  REQUIRE(end == s.c_str() + s.size());
  return v;
}

// The numbers of record r from word `from` on.
inline std::vector<double> nums(const Record& r, std::size_t from) {
  std::vector<double> v;
  for (std::size_t i = from; i < r.size(); ++i) v.push_back(num(r[i]));
  return v;
}

// |a - b| <= rel * |b| (exact equality for zeros; NaN equals NaN).
inline bool close(double a, double b, double rel) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::abs(a - b) <= rel * std::abs(b);
}

}  // namespace optim_test
