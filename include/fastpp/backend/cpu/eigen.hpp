#pragma once
// Eigen views of cpu tensors: no copy, row-major like the tensor. Part of the cpu backend (the GEMM
// goes through Eigen) and usable directly; kept out of tensor.hpp so that code which never touches
// Eigen does not pay for parsing it.
#include <Eigen/Core>

#include "../../core/tensor.hpp"

namespace fastpp {

template <class T>
using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The tensor as a matrix of shape[0] rows and numel/shape[0] columns.
template <class T>
Eigen::Map<RowMajorMatrix<T>> as_matrix(Tensor<T, cpu>& t) {
  check<ShapeError>(t.defined(), "as_matrix of an undefined tensor");
  return {t.data(), static_cast<Eigen::Index>(t.shape()[0]), static_cast<Eigen::Index>(t.shape().inner())};
}
template <class T>
Eigen::Map<const RowMajorMatrix<T>> as_matrix(const Tensor<T, cpu>& t) {
  check<ShapeError>(t.defined(), "as_matrix of an undefined tensor");
  return {t.data(), static_cast<Eigen::Index>(t.shape()[0]), static_cast<Eigen::Index>(t.shape().inner())};
}
// All elements as one column vector.
template <class T>
Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>> as_vector(Tensor<T, cpu>& t) {
  return {t.data(), static_cast<Eigen::Index>(t.numel())};
}
template <class T>
Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>> as_vector(const Tensor<T, cpu>& t) {
  return {t.data(), static_cast<Eigen::Index>(t.numel())};
}

}  // namespace fastpp
