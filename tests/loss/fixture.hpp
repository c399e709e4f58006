#pragma once
// Reads tests/fixtures/loss/reference.txt (written by make_fixtures.py): one record per line,
// `name kind rank d0 .. values`, and compares fastpp's results with its float64 values.
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <fastpp/backend/cpu/loss_kernels.hpp>
#include <fastpp/core/error.hpp>
#include <fastpp/core/tensor.hpp>
#include <fastpp/loss/options.hpp>

namespace loss_test {

struct Record {
  fastpp::Shape shape;
  std::vector<double> values;
};

inline std::map<std::string, Record> read_records(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw fastpp::IoError(path, "cannot open the loss fixture (run tests/fixtures/loss/make_fixtures.py)");
  std::map<std::string, Record> out;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string name, kind;
    int rank = 0;
    if (!(ls >> name >> kind >> rank) || rank < 1 || rank > 4 || (kind != "f" && kind != "i"))
      throw fastpp::FormatError(path, "bad record header on line " + std::to_string(lineno));
    std::vector<std::int64_t> dims(static_cast<std::size_t>(rank));
    for (auto& d : dims)
      if (!(ls >> d) || d < 0) throw fastpp::FormatError(path, "bad shape on line " + std::to_string(lineno));
    Record r{fastpp::Shape(dims.begin(), dims.end()), {}};
    double v;
    while (ls >> v) r.values.push_back(v);
    if (static_cast<std::int64_t>(r.values.size()) != r.shape.numel())
      throw fastpp::FormatError(path, "record '" + name + "' has " + std::to_string(r.values.size()) +
                                          " values for shape " + r.shape.str());
    out.emplace(name, std::move(r));
  }
  return out;
}

inline const std::map<std::string, Record>& records() {
  static const auto recs = read_records(std::string(FASTPP_TEST_DATA_DIR) + "/fixtures/loss/reference.txt");
  return recs;
}

// far_offsets.txt (make_far_offsets.py): logits far from zero and PyTorch float32's error on them.
inline const std::map<std::string, Record>& far_records() {
  static const auto recs = read_records(std::string(FASTPP_TEST_DATA_DIR) + "/fixtures/loss/far_offsets.txt");
  return recs;
}

inline const Record& rec(const std::string& name) {
  const auto& r = name.rfind("far", 0) == 0 ? far_records() : records();
  auto it = r.find(name);
  if (it == r.end()) throw fastpp::ValueError("no record '" + name + "' in the loss fixtures");
  return it->second;
}

template <class T>
fastpp::Tensor<T> tensor(const std::string& name) {
  const auto& r = rec(name);
  auto t = fastpp::Tensor<T>::empty(r.shape);
  for (std::size_t i = 0; i < r.values.size(); ++i) {
    if constexpr (std::is_integral_v<T>) t.data()[i] = static_cast<T>(r.values[i]);
    else t.data()[i] = static_cast<T>(static_cast<fastpp::acc_t<T>>(r.values[i]));
  }
  return t;
}

// Unit roundoff of the type results are computed in.
template <class T>
constexpr double unit_roundoff() {
  if constexpr (std::is_same_v<T, double>) return 0x1p-53;
  else if constexpr (std::is_same_v<T, fastpp::half>) return 0x1p-11;
  else if constexpr (std::is_same_v<T, fastpp::bfloat16>) return 0x1p-8;
  else return 0x1p-24;
}
// float's unit roundoff, what most float32 results are held to.
inline constexpr double u32 = unit_roundoff<float>();

// The three reductions, with the names the fixtures use for them.
inline const std::pair<fastpp::Reduction, std::string> reductions[] = {
    {fastpp::Reduction::none, "none"}, {fastpp::Reduction::mean, "mean"}, {fastpp::Reduction::sum, "sum"}};

// The tolerance of a result that went through a reduction of length `length` (a row of C classes, a
// batch of N rows, or both: C + N): |got - ref| <= u (8 + length) (|ref| + scale). `scale` is the size of
// the inputs the result was computed from (max |logit| for logsumexp-based values, where the absolute
// error follows the logits, not the result). Below float's smallest normal number (2^-126) results are
// subnormal or flushed to 0 and only the absolute error counts. A plain float32 sum of L terms can be off by L u |terms|;
// the kernels' 8-lane and pairwise sums do better, so this bound is not tight but it is not loose either.
struct Tolerance {
  double u;
  double length;
  double scale;
  double bound(double ref) const { return u * (8.0 + length) * (std::fabs(ref) + scale) + 0x1p-126; }
};

// Returns the first index that breaks the tolerance, or -1. `got` is read as double.
template <class T>
std::int64_t first_mismatch(const fastpp::Tensor<T>& got, const std::vector<double>& ref, Tolerance tol,
                            double* worst_ratio = nullptr) {
  if (got.numel() != static_cast<std::int64_t>(ref.size())) return 0;
  double worst = 0;
  std::int64_t bad = -1;
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const double g = static_cast<double>(static_cast<fastpp::acc_t<T>>(got.data()[i]));
    const double e = std::fabs(g - ref[static_cast<std::size_t>(i)]);
    const double r = e == 0.0 ? 0.0 : e / tol.bound(ref[static_cast<std::size_t>(i)]);
    if (!(r <= 1.0) && bad < 0) bad = i;
    if (r > worst || r != r) worst = r;
  }
  if (worst_ratio) *worst_ratio = worst;
  return bad;
}

// Runs the float kernels on the AVX2 code (where the CPU has it) or the portable code while it lives.
class IsaScope {
 public:
  explicit IsaScope(bool avx2) : before_(fastpp::backend::cpu_detail::loss_use_avx2()) {
    fastpp::backend::cpu_detail::loss_use_avx2() = avx2 && before_;
  }
  ~IsaScope() { fastpp::backend::cpu_detail::loss_use_avx2() = before_; }
  IsaScope(const IsaScope&) = delete;
  IsaScope& operator=(const IsaScope&) = delete;

 private:
  bool before_;
};

inline double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::fmax(m, std::fabs(x));
  return m;
}

}  // namespace loss_test

// CHECK that `got` matches the fixture record `name` within `tol`, naming the first bad element.
#define LOSS_CHECK_CLOSE(got, name, tol)                                                                 \
  do {                                                                                                   \
    double worst_ = 0;                                                                                   \
    const auto& rec_ = loss_test::rec(name);                                                             \
    const auto bad_ = loss_test::first_mismatch((got), rec_.values, (tol), &worst_);                     \
    INFO("record " << (name) << " first mismatch at " << bad_ << ", worst error/tolerance " << worst_); \
    CHECK((got).numel() == rec_.shape.numel());                                                          \
    CHECK(bad_ == -1);                                                                                   \
  } while (0)
