#pragma once
// Tensor<T, Device>: a contiguous, row-major block of T on one device, with a run-time shape of rank 1-4.
//
// Copying a Tensor copies a handle, not the data (as with torch::Tensor or cv::Mat): layers keep their
// inputs for backward and loaders hand out batches without copying. `clone()` copies the data.
// Leading-axis slices (`t[i]`, `t.slice(b, e)`) and `reshape` are views that share the storage; they stay
// contiguous because only the leading axis is sliced. Activations are NHWC (see docs/ARCHITECTURE.md).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "allocator.hpp"
#include "device.hpp"
#include "dtype.hpp"
#include "error.hpp"
#include "shape.hpp"

namespace fastpp {

template <class T, class D = cpu>
class Tensor {
  static_assert(is_dtype_v<T>,
                "Tensor's element type must be one of float, double, fastpp::half, fastpp::bfloat16, "
                "std::uint8_t, std::int32_t or std::int64_t");
  static_assert(is_device_v<D>,
                "Tensor's device must be a device tag: fastpp::cpu, fastpp::cuda, or a tag with a "
                "fastpp::device_traits specialisation (see core/device.hpp)");

 public:
  using value_type = T;
  using device_type = D;

  // An undefined tensor: no storage, rank 0. defined() is false.
  Tensor() = default;

  // Uninitialised storage of the given shape.
  static Tensor empty(const Shape& shape) {
    check<ShapeError>(shape.rank() >= 1, "a tensor needs a shape of rank 1 to 4");
    Tensor t;
    t.shape_ = shape;
    const std::size_t bytes = static_cast<std::size_t>(shape.numel()) * sizeof(T);
    void* p = allocator<D>::allocate(bytes);
    t.storage_ = std::shared_ptr<void>(p, [bytes](void* q) { release_block<D>(q, bytes); });
    t.data_ = static_cast<T*>(p);
    return t;
  }
  static Tensor zeros(const Shape& shape) { return full(shape, T{}); }
  static Tensor full(const Shape& shape, T value) {
    static_assert(HostDevice<D>, "Tensor::full fills host memory: build on cpu, then .to<cuda>()");
    Tensor t = empty(shape);
    std::fill_n(t.data_, t.numel(), value);
    return t;
  }
  // A cpu tensor holding `values` (row-major); their count must equal the shape's numel.
  static Tensor from(const Shape& shape, const std::vector<T>& values) {
    static_assert(HostDevice<D>, "Tensor::from reads host values: build on cpu, then .to<cuda>()");
    check<ShapeError>(static_cast<std::int64_t>(values.size()) == shape.numel(), "Tensor::from: ",
                      values.size(), " values do not fill shape ", shape, " (", shape.numel(), " elements)");
    Tensor t = empty(shape);
    std::copy(values.begin(), values.end(), t.data_);
    return t;
  }

  bool defined() const noexcept { return data_ != nullptr; }
  const Shape& shape() const noexcept { return shape_; }
  int rank() const noexcept { return shape_.rank(); }
  std::int64_t size(int dim) const { return shape_.at(dim); }
  std::int64_t numel() const noexcept { return shape_.numel(); }
  std::size_t nbytes() const noexcept { return static_cast<std::size_t>(numel()) * sizeof(T); }

  // On cuda these are device pointers, to be passed to kernels only.
  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  T* begin() noexcept requires HostDevice<D> { return data_; }
  T* end() noexcept requires HostDevice<D> { return data_ + numel(); }
  const T* begin() const noexcept requires HostDevice<D> { return data_; }
  const T* end() const noexcept requires HostDevice<D> { return data_ + numel(); }

  // Element access on the cpu. operator() is unchecked in release builds; at() always checks.
  template <class... I>
  T& operator()(I... idx) requires HostDevice<D> {
    return data_[offset_unchecked(static_cast<std::int64_t>(idx)...)];
  }
  template <class... I>
  const T& operator()(I... idx) const requires HostDevice<D> {
    return data_[offset_unchecked(static_cast<std::int64_t>(idx)...)];
  }
  template <class... I>
  T& at(I... idx) requires HostDevice<D> {
    return data_[offset_checked(static_cast<std::int64_t>(idx)...)];
  }
  template <class... I>
  const T& at(I... idx) const requires HostDevice<D> {
    return data_[offset_checked(static_cast<std::int64_t>(idx)...)];
  }

  // Rows [begin, end) along the leading axis, sharing storage.
  Tensor slice(std::int64_t begin, std::int64_t end) const {
    check<IndexError>(defined(), "slice of an undefined tensor");
    check<IndexError>(0 <= begin && begin <= end && end <= shape_[0], "slice [", begin, ", ", end,
                      ") is out of range for a leading dimension of ", shape_[0]);
    Tensor t = *this;
    t.shape_ = shape_.with_first(end - begin);
    t.data_ = data_ + begin * shape_.inner();
    return t;
  }
  // Element i of the leading axis, with one rank fewer (a rank-1 tensor gives a 1-element tensor).
  Tensor operator[](std::int64_t i) const {
    check<IndexError>(defined() && 0 <= i && i < shape_[0], "index ", i,
                      " is out of range for a leading dimension of ", defined() ? shape_[0] : 0);
    Tensor t = *this;
    t.shape_ = shape_.drop_first();
    t.data_ = data_ + i * shape_.inner();
    return t;
  }
  // The same elements seen with another shape of equal numel, sharing storage.
  Tensor reshape(const Shape& shape) const {
    check<ShapeError>(shape.numel() == numel(), "cannot reshape ", shape_, " (", numel(), " elements) to ",
                      shape, " (", shape.numel(), " elements)");
    Tensor t = *this;
    t.shape_ = shape;
    return t;
  }

  // A deep copy on the same device.
  Tensor clone() const {
    if (!defined()) return {};
    Tensor t = empty(shape_);
    copy_bytes<D, D>(t.data_, data_, nbytes());
    return t;
  }
  // A copy on another device (or the same one: then a deep copy, so the result never aliases).
  template <class To>
  Tensor<T, To> to() const {
    static_assert(is_device_v<To>, "to<Device>() takes a device tag such as fastpp::cpu or fastpp::cuda");
    if (!defined()) return {};
    auto t = Tensor<T, To>::empty(shape_);
    copy_bytes<To, D>(t.data(), data_, nbytes());
    return t;
  }
  // Element-wise conversion to another dtype on the cpu.
  template <class U>
  Tensor<U, D> cast() const requires HostDevice<D> {
    static_assert(is_dtype_v<U>, "cast<U>() needs a tensor element type");
    auto t = Tensor<U, D>::empty(shape_);
    const std::int64_t n = numel();
    for (std::int64_t i = 0; i < n; ++i) t.data()[i] = static_cast<U>(static_cast<acc_t<T>>(data_[i]));
    return t;
  }

  // True when both handles see (part of) the same allocation.
  bool shares_storage_with(const Tensor& o) const noexcept { return storage_ && storage_ == o.storage_; }
  // Number of handles sharing the storage (for tests and debugging).
  long use_count() const noexcept { return storage_.use_count(); }

 private:
  template <class... I>
  std::int64_t offset_unchecked(I... idx) const noexcept {
    std::int64_t off = 0;
    int d = 0;
    ((off = off * shape_[d++] + idx), ...);
    return off;
  }
  template <class... I>
  std::int64_t offset_checked(I... idx) const {
    check<IndexError>(static_cast<int>(sizeof...(I)) == rank(), "at() got ", sizeof...(I),
                      " indices for a tensor of rank ", rank());
    std::int64_t off = 0;
    int d = 0;
    (
        [&](std::int64_t i) {
          check<IndexError>(0 <= i && i < shape_[d], "index ", i, " is out of range for dimension ", d,
                            " of size ", shape_[d], " in a tensor of shape ", shape_);
          off = off * shape_[d++] + i;
        }(idx),
        ...);
    return off;
  }

  std::shared_ptr<void> storage_;
  T* data_ = nullptr;
  Shape shape_;
};

// A tensor of `shape` with every element `value`, on any device: filled in place where the host can write
// the device's memory, else filled on the cpu and copied (for the small tensors it is used for: a loss's
// upstream gradient of ones).
template <class T, class D>
Tensor<T, D> full_on(const Shape& shape, T value) {
  if constexpr (HostDevice<D>) return Tensor<T, D>::full(shape, value);
  else return Tensor<T, cpu>::full(shape, value).template to<D>();
}

template <class T>
concept CpuTensor = requires { typename T::value_type; } && std::is_same_v<T, Tensor<typename T::value_type, cpu>>;

}  // namespace fastpp

// Printing comes with Tensor wherever it is visible (std::cout << t after including any fastpp header that
// brings Tensor, not core.hpp only). Included last: print.hpp needs the complete class above.
#include "print.hpp"
