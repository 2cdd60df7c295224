// Eigen maps over cpu tensor storage: no copies, the map aliases the tensor's elements.
//   as_vector(view)  → Eigen::Map of a column vector of view.size() elements (any rank)
//   as_matrix(view)  → Eigen::Map of a row-major rows × cols matrix (rank 2)
#pragma once

#include <type_traits>

#include <Eigen/Core>

#include "minibatch/core/error.hpp"
#include "minibatch/tensor/tensor_view.hpp"

namespace minibatch::cpu_backend {

template <class T>
using RowMajorMatrix = Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Vector = Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, 1>;

template <class T>
using VectorMap = Eigen::Map<std::conditional_t<std::is_const_v<T>, const Vector<T>, Vector<T>>>;
template <class T>
using MatrixMap = Eigen::Map<std::conditional_t<std::is_const_v<T>, const RowMajorMatrix<T>, RowMajorMatrix<T>>>;

template <class T>
VectorMap<T> as_vector(TensorView<T, cpu> v) {
  return VectorMap<T>(v.data(), static_cast<Eigen::Index>(v.size()));
}

template <class T>
MatrixMap<T> as_matrix(TensorView<T, cpu> v) {
  require<shape_error>(v.rank() == 2, "as_matrix: expected a rank-2 tensor, got shape ", v.shape());
  return MatrixMap<T>(v.data(), static_cast<Eigen::Index>(v.shape()[0]), static_cast<Eigen::Index>(v.shape()[1]));
}

}  // namespace minibatch::cpu_backend
