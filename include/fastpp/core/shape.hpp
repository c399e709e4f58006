#pragma once
// Shape: the run-time extents of a tensor of rank 1 to 4, checked on construction.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>

#include "error.hpp"

namespace fastpp {

class Shape {
 public:
  static constexpr int max_rank = 4;

  constexpr Shape() = default;  // rank 0: the shape of an undefined tensor
  Shape(std::initializer_list<std::int64_t> dims) {
    check<ShapeError>(dims.size() >= 1 && dims.size() <= max_rank, "a tensor has rank 1 to 4, not ",
                      dims.size());
    for (auto d : dims) push(d);
  }
  template <class It>
  Shape(It first, It last) {
    for (; first != last; ++first) {
      check<ShapeError>(rank_ < max_rank, "a tensor has rank 1 to 4, not more");
      push(static_cast<std::int64_t>(*first));
    }
    check<ShapeError>(rank_ >= 1, "a tensor has rank 1 to 4, not 0");
  }

  constexpr int rank() const noexcept { return rank_; }
  constexpr std::int64_t operator[](int i) const noexcept { return dims_[static_cast<std::size_t>(i)]; }
  // Checked access; negative i counts from the end as in Python.
  std::int64_t at(int i) const {
    const int j = i < 0 ? i + rank_ : i;
    check<IndexError>(j >= 0 && j < rank_, "dimension ", i, " is out of range for a shape of rank ", rank_);
    return dims_[static_cast<std::size_t>(j)];
  }
  constexpr std::int64_t numel() const noexcept {
    if (rank_ == 0) return 0;
    std::int64_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
    return n;
  }
  // Product of the dimensions after the first: the length of one leading-axis slice.
  constexpr std::int64_t inner() const noexcept {
    std::int64_t n = 1;
    for (int i = 1; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
    return n;
  }
  // The same shape with the first dimension replaced (used by leading-axis slices).
  Shape with_first(std::int64_t d0) const {
    Shape s = *this;
    s.dims_[0] = d0;
    return s;
  }
  // The shape of one element along the first axis (rank - 1); rank-1 shapes give {1}.
  Shape drop_first() const {
    if (rank_ == 1) return Shape{1};
    Shape s;
    for (int i = 1; i < rank_; ++i) s.push(dims_[static_cast<std::size_t>(i)]);
    return s;
  }

  friend constexpr bool operator==(const Shape& a, const Shape& b) noexcept {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i)
      if (a.dims_[static_cast<std::size_t>(i)] != b.dims_[static_cast<std::size_t>(i)]) return false;
    return true;
  }

  std::string str() const {
    std::string s = "[";
    for (int i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[static_cast<std::size_t>(i)]);
    return s + "]";
  }
  friend std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }

 private:
  void push(std::int64_t d) {
    check<ShapeError>(d >= 0, "dimension ", rank_, " of a shape is negative: ", d);
    dims_[static_cast<std::size_t>(rank_++)] = d;
  }
  std::array<std::int64_t, max_rank> dims_{};
  int rank_ = 0;
};

}  // namespace fastpp
