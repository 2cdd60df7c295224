// Tensor<T, Backend = cpu>: owning, contiguous, row-major storage of rank ≤ 4.
//
//   Tensor<float> theta{1.0f, 2.0f};      1-D tensor from values (any backend: copied over)
//   Tensor<float> grad(theta.shape());    zero-filled tensor of a shape
//   Tensor<float> x(Shape{2, 3}, values); from a host span of values, checked against the shape
//
// Copies are deep (same backend), moves steal the storage. A tensor converts implicitly to
// TensorView<T, B> and TensorView<const T, B>, which is what kernels and optimizers take.
#pragma once

#include <initializer_list>
#include <span>
#include <utility>
#include <vector>

#include "minibatch/core/error.hpp"
#include "minibatch/tensor/backend.hpp"
#include "minibatch/tensor/shape.hpp"
#include "minibatch/tensor/tensor_view.hpp"

namespace minibatch {

template <class T, Backend B = cpu>
class Tensor {
 public:
  using value_type = T;
  using backend_type = B;

  Tensor() = default;

  explicit Tensor(const Shape& shape) : shape_(shape) {
    allocate();
    if (size()) memory<B>::zero(data_, size());
  }

  Tensor(std::initializer_list<T> values) : Tensor(Shape{values.size()}, std::span<const T>(values.begin(), values.size())) {}

  Tensor(const Shape& shape, std::span<const T> host_values) : shape_(shape) {
    require<shape_error>(host_values.size() == shape.size(), "Tensor: ", host_values.size(),
                         " values given for shape ", shape, " (", shape.size(), " elements)");
    allocate();
    if (size()) memory<B>::from_host(data_, host_values.data(), size());
  }

  Tensor(const Tensor& other) : shape_(other.shape_) {
    allocate();
    if (size()) memory<B>::copy(data_, other.data_, size());
  }
  Tensor(Tensor&& other) noexcept : data_(std::exchange(other.data_, nullptr)), shape_(std::exchange(other.shape_, Shape{})) {}
  Tensor& operator=(const Tensor& other) {
    if (this != &other) {
      if (shape_.size() != other.size()) {
        Tensor copy(other);
        swap(copy);
      } else {
        shape_ = other.shape_;
        if (size()) memory<B>::copy(data_, other.data_, size());
      }
    }
    return *this;
  }
  Tensor& operator=(Tensor&& other) noexcept {
    Tensor moved(std::move(other));
    swap(moved);
    return *this;
  }
  ~Tensor() { release(); }

  void swap(Tensor& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(shape_, other.shape_);
  }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  const Shape& shape() const noexcept { return shape_; }
  index_t size() const noexcept { return shape_.size(); }
  index_t rank() const noexcept { return shape_.rank(); }
  bool empty() const noexcept { return size() == 0; }

  T& operator[](index_t i)
    requires std::same_as<B, cpu>
  {
    return data_[i];
  }
  const T& operator[](index_t i) const
    requires std::same_as<B, cpu>
  {
    return data_[i];
  }
  template <std::convertible_to<index_t>... I>
  T& at(I... idx)
    requires std::same_as<B, cpu>
  {
    return view().at(idx...);
  }
  template <std::convertible_to<index_t>... I>
  const T& at(I... idx) const
    requires std::same_as<B, cpu>
  {
    return view().at(idx...);
  }

  TensorView<T, B> view() noexcept { return {data_, shape_}; }
  TensorView<const T, B> view() const noexcept { return {data_, shape_}; }
  operator TensorView<T, B>() noexcept { return view(); }
  operator TensorView<const T, B>() const noexcept { return view(); }

  void zero() {
    if (size()) memory<B>::zero(data_, size());
  }

  std::vector<T> to_vector() const { return view().to_vector(); }

 private:
  void allocate() {
    if (shape_.size()) data_ = memory<B>::template allocate<T>(shape_.size());
  }
  void release() noexcept {
    if (data_) memory<B>::deallocate(data_, shape_.size());
    data_ = nullptr;
  }

  T* data_ = nullptr;
  Shape shape_;
};

}  // namespace minibatch
