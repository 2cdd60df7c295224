// ParamBuffer<T, Backend>: every parameter of a model in ONE allocation, with named slices.
// A model's weights and biases are views into the flat buffer, so an optimizer updates all
// of them in one fused pass over `flat()`, and a gradient buffer built from the same
// layout lines up element for element.
//
//   ParamLayout layout;                       // names and shapes, in order
//   layout.add("W1", {784, 256}); layout.add("b1", {256});
//   ParamBuffer<float> params(layout), grads(layout);   // both zero-filled
//   TensorView<float> W1 = params["W1"];      // or params.slice(0)
//   opt.step(params.flat(), grads.flat());
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "minibatch/core/error.hpp"
#include "minibatch/tensor/tensor.hpp"

namespace minibatch {

struct ParamSlice {
  std::string name;
  index_t offset = 0;
  Shape shape;
};

class ParamLayout {
 public:
  ParamLayout() = default;
  ParamLayout(std::initializer_list<std::pair<std::string, Shape>> entries) {
    for (const auto& [name, shape] : entries) add(name, shape);
  }

  // Appends a slice; returns its position. Names are unique and shapes non-empty.
  // (Names are looked up in an ordered index: a layout of n slices is built in O(n log n),
  // also when a checkpoint file declares thousands of them.)
  index_t add(std::string name, Shape shape) {
    require<shape_error>(shape.size() > 0, "ParamLayout: parameter '", name, "' has empty shape ", shape);
    require<value_error>(!contains(name), "ParamLayout: duplicate parameter name '", name, "'");
    by_name_.emplace(name, slices_.size());
    slices_.push_back({std::move(name), total_, shape});
    total_ += shape.size();
    return slices_.size() - 1;
  }

  bool contains(std::string_view name) const { return by_name_.find(name) != by_name_.end(); }
  const ParamSlice& find(std::string_view name) const {
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) throw index_error(detail::concat("ParamLayout: no parameter named '", name, "'"));
    return slices_[it->second];
  }
  const ParamSlice& operator[](index_t i) const {
    require<index_error>(i < slices_.size(), "ParamLayout: slice ", i, " out of range (", slices_.size(), " slices)");
    return slices_[i];
  }
  const std::vector<ParamSlice>& slices() const noexcept { return slices_; }
  index_t count() const noexcept { return slices_.size(); }
  index_t total_size() const noexcept { return total_; }

  friend bool operator==(const ParamLayout& a, const ParamLayout& b) {
    if (a.total_ != b.total_ || a.slices_.size() != b.slices_.size()) return false;
    for (index_t i = 0; i < a.slices_.size(); ++i)
      if (a.slices_[i].name != b.slices_[i].name || !(a.slices_[i].shape == b.slices_[i].shape)) return false;
    return true;
  }

 private:
  std::vector<ParamSlice> slices_;
  std::map<std::string, index_t, std::less<>> by_name_;  // name → position in slices_
  index_t total_ = 0;
};

template <class T, Backend B = cpu>
class ParamBuffer {
 public:
  ParamBuffer() = default;
  explicit ParamBuffer(ParamLayout layout) : layout_(std::move(layout)), flat_(Shape{layout_.total_size()}) {}

  const ParamLayout& layout() const noexcept { return layout_; }
  index_t size() const noexcept { return flat_.size(); }

  TensorView<T, B> flat() noexcept { return flat_.view(); }
  TensorView<const T, B> flat() const noexcept { return flat_.view(); }
  Tensor<T, B>& storage() noexcept { return flat_; }
  const Tensor<T, B>& storage() const noexcept { return flat_; }

  TensorView<T, B> slice(index_t i) { return view_of(layout_[i]); }
  TensorView<const T, B> slice(index_t i) const { return view_of(layout_[i]); }
  TensorView<T, B> operator[](std::string_view name) { return view_of(layout_.find(name)); }
  TensorView<const T, B> operator[](std::string_view name) const { return view_of(layout_.find(name)); }

  void zero() { flat_.zero(); }

 private:
  TensorView<T, B> view_of(const ParamSlice& s) { return {flat_.data() + s.offset, s.shape}; }
  TensorView<const T, B> view_of(const ParamSlice& s) const { return {flat_.data() + s.offset, s.shape}; }

  ParamLayout layout_;
  Tensor<T, B> flat_;
};

}  // namespace minibatch
