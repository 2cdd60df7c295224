// Shape of a tensor: rank 0 to 4, row-major extents. Shape{} is a scalar-free empty shape
// of rank 0 and size 0 (a default-constructed tensor); Shape{n} is a vector of n elements.
// Building a shape checks the rank and that the element count does not overflow.
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <ostream>
#include <span>
#include <string>

#include "minibatch/core/error.hpp"
#include "minibatch/core/index.hpp"

namespace minibatch {

class Shape {
 public:
  static constexpr index_t max_rank = 4;

  constexpr Shape() = default;
  constexpr Shape(std::initializer_list<index_t> dims) { assign(std::span(dims.begin(), dims.size())); }
  constexpr explicit Shape(std::span<const index_t> dims) { assign(dims); }

  constexpr index_t rank() const noexcept { return rank_; }
  index_t operator[](index_t axis) const {
    // (*this, not to_string(): the message is built only when the check fails)
    require<index_error>(axis < rank_, "Shape", *this, ": axis ", axis, " out of range for rank ", rank_);
    return dims_[axis];
  }
  // Number of elements; 0 for the rank-0 empty shape.
  constexpr index_t size() const noexcept { return size_; }
  constexpr std::span<const index_t> dims() const noexcept { return {dims_.data(), rank_}; }

  friend constexpr bool operator==(const Shape& a, const Shape& b) noexcept {
    if (a.rank_ != b.rank_) return false;
    for (index_t i = 0; i < a.rank_; ++i)
      if (a.dims_[i] != b.dims_[i]) return false;
    return true;
  }

  std::string to_string() const {
    std::string s = "[";
    for (index_t i = 0; i < rank_; ++i) {
      if (i) s += ", ";
      s += std::to_string(dims_[i]);
    }
    return s + "]";
  }

  friend std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.to_string(); }

 private:
  constexpr void assign(std::span<const index_t> dims) {
    if (dims.size() > max_rank)
      throw shape_error(detail::concat("Shape: rank ", dims.size(), " exceeds the maximum rank ", max_rank));
    rank_ = dims.size();
    size_ = rank_ == 0 ? 0 : 1;
    for (index_t i = 0; i < rank_; ++i) {
      dims_[i] = dims[i];
      if (dims[i] != 0 && size_ > std::numeric_limits<index_t>::max() / dims[i])
        throw shape_error("Shape: element count overflows std::size_t");
      size_ *= dims[i];
    }
  }

  std::array<index_t, max_rank> dims_{};
  index_t rank_ = 0;
  index_t size_ = 0;
};

}  // namespace minibatch
