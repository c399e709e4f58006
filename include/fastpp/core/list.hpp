#pragma once
// L<T>: fastcore's list, typed. A std::vector<T> with the functional helpers fastai code leans on
// (map, filter, unique, sorted, itemgot, zip, enumerate, indexing by positions or by a bool mask) and
// fastcore's notebook print form `(#N) [e1,e2,...]`.
//
// Printing rule (one rule for every element type, so a printed L reads like fastai's):
//   std::filesystem::path -> Path('a/b.jpg')      (Python's repr of a pathlib.Path)
//   std::string, const char*, std::string_view -> 'text'   (Python's repr of a str)
//   bool -> True/False; std::pair / std::tuple -> (a, b)
//   anything else -> its operator<<
// At most 20 elements are printed, joined by ',' without spaces, then `...` when there are more.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "error.hpp"

namespace fastpp {

template <class T>
class L;

namespace detail {

template <class T>
struct is_tuple_like : std::false_type {};
template <class... Ts>
struct is_tuple_like<std::tuple<Ts...>> : std::true_type {};
template <class A, class B>
struct is_tuple_like<std::pair<A, B>> : std::true_type {};

template <class T>
void print_repr(std::ostream& os, const T& v);

template <class Tuple, std::size_t... I>
void print_tuple_repr(std::ostream& os, const Tuple& t, std::index_sequence<I...>) {
  os << '(';
  ((os << (I == 0 ? "" : ", "), print_repr(os, std::get<I>(t))), ...);
  os << ')';
}

// One element as fastcore would show it (see the rule at the top of this file).
template <class T>
void print_repr(std::ostream& os, const T& v) {
  if constexpr (std::is_same_v<T, std::filesystem::path>) {
    os << "Path('" << v.generic_string() << "')";
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    os << '\'' << std::string_view(v) << '\'';
  } else if constexpr (std::is_same_v<T, bool>) {
    os << (v ? "True" : "False");
  } else if constexpr (is_tuple_like<T>::value) {
    print_tuple_repr(os, v, std::make_index_sequence<std::tuple_size_v<T>>{});
  } else {
    os << v;
  }
}

}  // namespace detail

template <class T>
class L {
 public:
  using value_type = T;
  using iterator = typename std::vector<T>::iterator;
  using const_iterator = typename std::vector<T>::const_iterator;

  // How many elements operator<< shows before `...` (fastcore's notebook form shows 20).
  static constexpr std::size_t max_printed = 20;

  L() = default;
  L(std::initializer_list<T> items) : items_(items) {}
  explicit L(std::vector<T> items) : items_(std::move(items)) {}
  template <class It>
  L(It first, It last) : items_(first, last) {}
  // L::range(n): 0, 1, ..., n-1 (fastcore's L.range).
  static L range(T n) requires std::is_integral_v<T> {
    L out;
    for (T i = 0; i < n; ++i) out.items_.push_back(i);
    return out;
  }

  std::int64_t size() const noexcept { return static_cast<std::int64_t>(items_.size()); }
  bool empty() const noexcept { return items_.empty(); }
  iterator begin() noexcept { return items_.begin(); }
  iterator end() noexcept { return items_.end(); }
  const_iterator begin() const noexcept { return items_.begin(); }
  const_iterator end() const noexcept { return items_.end(); }
  const std::vector<T>& vec() const noexcept { return items_; }
  std::vector<T>& vec() noexcept { return items_; }
  void push_back(T v) { items_.push_back(std::move(v)); }

  // Element i; negative i counts from the end, as in Python. Out of range throws IndexError.
  const T& operator[](std::int64_t i) const { return items_[checked(i)]; }
  T& operator[](std::int64_t i) { return items_[checked(i)]; }
  // The elements at these positions (negative positions count from the end), in that order.
  L operator[](const std::vector<std::int64_t>& idxs) const {
    L out;
    out.items_.reserve(idxs.size());
    for (auto i : idxs) out.items_.push_back(items_[checked(i)]);
    return out;
  }
  // The elements where mask is true; the mask must be as long as the list.
  L operator[](const std::vector<bool>& mask) const {
    check<IndexError>(mask.size() == items_.size(), "L: a bool mask of length ", mask.size(),
                      " cannot index a list of length ", items_.size());
    L out;
    for (std::size_t i = 0; i < items_.size(); ++i)
      if (mask[i]) out.items_.push_back(items_[i]);
    return out;
  }

  // f(x) for every element.
  template <class F>
  auto map(F&& f) const {
    using U = std::decay_t<std::invoke_result_t<F&, const T&>>;
    L<U> out;
    out.vec().reserve(items_.size());
    for (const auto& x : items_) out.push_back(std::invoke(f, x));
    return out;
  }
  // The elements for which f(x) is true (false with negate), in order.
  template <class F>
  L filter(F&& f, bool negate = false) const {
    L out;
    for (const auto& x : items_)
      if (static_cast<bool>(std::invoke(f, x)) != negate) out.items_.push_back(x);
    return out;
  }
  // Positions where f(x) is true.
  template <class F>
  L<std::int64_t> argwhere(F&& f) const {
    L<std::int64_t> out;
    for (std::size_t i = 0; i < items_.size(); ++i)
      if (std::invoke(f, items_[i])) out.push_back(static_cast<std::int64_t>(i));
    return out;
  }
  // The first occurrence of each value, in order of first appearance (fastcore's stable unique).
  L unique() const {
    L out;
    if constexpr (requires(const T& a, const T& b) { a < b; }) {
      std::set<T> seen;
      for (const auto& x : items_)
        if (seen.insert(x).second) out.items_.push_back(x);
    } else {
      for (const auto& x : items_)
        if (std::find(out.items_.begin(), out.items_.end(), x) == out.items_.end()) out.items_.push_back(x);
    }
    return out;
  }
  // A sorted copy; equal elements keep their order (stable, like Python's sorted).
  L sorted(bool reverse = false) const {
    return sorted([](const T& x) -> const T& { return x; }, reverse);
  }
  // Sorted by key(x).
  template <class Key>
  L sorted(Key&& key, bool reverse = false) const {
    L out = *this;
    std::stable_sort(out.items_.begin(), out.items_.end(), [&](const T& a, const T& b) {
      return reverse ? std::invoke(key, b) < std::invoke(key, a) : std::invoke(key, a) < std::invoke(key, b);
    });
    return out;
  }
  // Element I of every tuple/pair element (fastcore's itemgot with a constant index).
  template <std::size_t I>
  auto itemgot() const {
    return map([](const T& x) { return std::get<I>(x); });
  }
  // x[i] of every element, for elements that are themselves indexable (vectors, strings, L).
  auto itemgot(std::int64_t i) const {
    return map([i](const T& x) { return x[static_cast<std::size_t>(i)]; });
  }
  // Pairs (x, y) with the elements of other; the lists must be as long as each other.
  template <class U>
  L<std::pair<T, U>> zip(const L<U>& other) const {
    check<ValueError>(other.size() == size(), "L::zip: lists of lengths ", size(), " and ", other.size());
    L<std::pair<T, U>> out;
    for (std::size_t i = 0; i < items_.size(); ++i) out.push_back({items_[i], other.vec()[i]});
    return out;
  }
  // Pairs (position, x).
  L<std::pair<std::int64_t, T>> enumerate() const {
    L<std::pair<std::int64_t, T>> out;
    for (std::size_t i = 0; i < items_.size(); ++i) out.push_back({static_cast<std::int64_t>(i), items_[i]});
    return out;
  }

  friend L operator+(L a, const L& b) {
    a.items_.insert(a.items_.end(), b.items_.begin(), b.items_.end());
    return a;
  }
  friend bool operator==(const L& a, const L& b) { return a.items_ == b.items_; }

  friend std::ostream& operator<<(std::ostream& os, const L& l) {
    os << "(#" << l.items_.size() << ") [";
    const std::size_t n = std::min(l.items_.size(), max_printed);
    for (std::size_t i = 0; i < n; ++i) {
      if (i) os << ',';
      detail::print_repr(os, l.items_[i]);
    }
    if (l.items_.size() > max_printed) os << ",...";
    return os << ']';
  }
  std::string str() const {
    std::ostringstream os;
    os << *this;
    return os.str();
  }

 private:
  std::size_t checked(std::int64_t i) const {
    const std::int64_t n = size();
    const std::int64_t j = i < 0 ? i + n : i;
    check<IndexError>(j >= 0 && j < n, "L: index ", i, " is out of range for a list of length ", n);
    return static_cast<std::size_t>(j);
  }

  std::vector<T> items_;
};

template <class T>
L(std::initializer_list<T>) -> L<T>;
template <class T>
L(std::vector<T>) -> L<T>;

}  // namespace fastpp
