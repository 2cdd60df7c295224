// TensorView<T, Backend>: a non-owning (pointer, shape) pair over contiguous row-major
// storage; T may be const. Views are cheap to copy and convert from non-const to const.
// Element access with operator[] / at() exists only on the cpu backend; device data is
// reached through kernels or copied to the host.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <type_traits>
#include <vector>

#include "minibatch/core/error.hpp"
#include "minibatch/core/index.hpp"
#include "minibatch/tensor/backend.hpp"
#include "minibatch/tensor/shape.hpp"

namespace minibatch {

template <class T, Backend B = cpu>
class TensorView {
 public:
  using value_type = std::remove_const_t<T>;
  using element_type = T;
  using backend_type = B;

  constexpr TensorView() = default;
  constexpr TensorView(T* data, Shape shape) noexcept : data_(data), shape_(shape) {}

  // View of mutable data → view of const data.
  template <class U>
    requires(std::is_const_v<T> && std::same_as<U, std::remove_const_t<T>>)
  constexpr TensorView(TensorView<U, B> other) noexcept : data_(other.data()), shape_(other.shape()) {}

  constexpr T* data() const noexcept { return data_; }
  constexpr const Shape& shape() const noexcept { return shape_; }
  constexpr index_t size() const noexcept { return shape_.size(); }
  constexpr index_t rank() const noexcept { return shape_.rank(); }
  constexpr bool empty() const noexcept { return shape_.size() == 0; }

  T& operator[](index_t i) const
    requires std::same_as<B, cpu>
  {
    return data_[i];
  }

  // Checked multi-index access (row-major).
  template <std::convertible_to<index_t>... I>
  T& at(I... idx) const
    requires std::same_as<B, cpu>
  {
    return data_[offset_of({static_cast<index_t>(idx)...})];
  }

  // The same storage seen with another shape of the same size.
  TensorView reshaped(Shape s) const {
    require<shape_error>(s.size() == size(), "reshape: cannot view ", shape_, " (", size(), " elements) as ", s,
                         " (", s.size(), " elements)");
    return {data_, s};
  }

  // Rows [begin, begin + count) of the leading axis.
  TensorView rows(index_t begin, index_t count) const {
    require<shape_error>(rank() >= 1, "rows: tensor of shape ", shape_, " has no leading axis");
    require<index_error>(begin + count <= shape_[0], "rows: [", begin, ", ", begin + count,
                         ") out of range for shape ", shape_);
    std::array<index_t, Shape::max_rank> dims{};
    std::copy(shape_.dims().begin(), shape_.dims().end(), dims.begin());
    dims[0] = count;
    const index_t row_size = shape_[0] == 0 ? 0 : size() / shape_[0];
    return {data_ + begin * row_size, Shape(std::span<const index_t>(dims.data(), rank()))};
  }

  // Copies the elements to a host vector (any backend).
  std::vector<value_type> to_vector() const {
    std::vector<value_type> out(size());
    if (size()) memory<B>::to_host(out.data(), data_, size());
    return out;
  }

 private:
  index_t offset_of(std::initializer_list<index_t> idx) const {
    require<index_error>(idx.size() == rank(), "at: ", idx.size(), " indices for a tensor of rank ", rank());
    index_t offset = 0, axis = 0;
    for (index_t i : idx) {
      require<index_error>(i < shape_[axis], "at: index ", i, " out of range for axis ", axis, " of shape ", shape_);
      offset = offset * shape_[axis] + i;
      ++axis;
    }
    return offset;
  }

  T* data_ = nullptr;
  Shape shape_;
};

// Throws shape_error unless the two views have the same shape; `what` names the call.
template <class A, class Bv>
void require_same_shape(const A& a, const Bv& b, const char* what) {
  require<shape_error>(a.shape() == b.shape(), what, ": shape mismatch ", a.shape(), " vs ", b.shape());
}

}  // namespace minibatch
