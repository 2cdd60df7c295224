// SliceMask: which parameter slices (the named slices of a ParamLayout) a per-slice part of
// an optimizer applies to — weight decay, or the LARS/LAMB trust ratio. The usual use is
// "no weight decay on biases":
//
//   mb::AdamW<float> opt({.lr = 1e-3f, .weight_decay_mask = mb::SliceMask::excluding({"b1", "b2"})});
//   mb::AdamW<float> opt({.lr = 1e-3f, .weight_decay_mask = mb::SliceMask::min_rank(2)});  // matrices only
//   opt.step(params, grads);             // ParamBuffers: the mask is read against their layout
//
// A mask is evaluated once, on the first step, against the layout of the parameters; a
// name that is not in the layout is an error (a typo must not silently decay a bias).
// The TensorView overload of step() sees the whole buffer as ONE slice named "" with the
// view's shape, so a mask of names cannot apply there: pass the ParamLayout instead.
//
// detail::SliceTable is the per-optimizer state built from the layout and the masks: the
// slice offsets and per-slice weight decay on the backend (what the fused kernels read),
// and scratch for per-slice norms and trust ratios.
#pragma once

#include <algorithm>
#include <concepts>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "minibatch/core/error.hpp"
#include "minibatch/tensor/param_buffer.hpp"
#include "minibatch/tensor/tensor.hpp"

namespace minibatch {

class SliceMask {
 public:
  // The default mask applies to every slice.
  SliceMask() = default;

  static SliceMask all() { return {}; }
  static SliceMask none() {
    SliceMask m;
    m.none_ = true;
    return m;
  }
  // Every slice but the named ones.
  static SliceMask excluding(std::vector<std::string> names) {
    SliceMask m;
    m.excluded_ = std::move(names);
    return m;
  }
  // Slices of rank ≥ min (min = 2: weight matrices, not bias vectors).
  static SliceMask min_rank(index_t min) {
    return where([min](const ParamSlice& s) { return s.shape.rank() >= min; });
  }
  // Slices for which predicate(slice) is true.
  static SliceMask where(std::function<bool(const ParamSlice&)> predicate) {
    SliceMask m;
    m.predicate_ = std::move(predicate);
    return m;
  }

  bool contains(const ParamSlice& slice) const {
    if (none_) return false;
    if (std::find(excluded_.begin(), excluded_.end(), slice.name) != excluded_.end()) return false;
    return !predicate_ || predicate_(slice);
  }

  // Throws value_error when an excluded name is not a slice of the layout.
  void check_names(const ParamLayout& layout, bool whole_buffer, const char* who, const char* field) const {
    for (const auto& name : excluded_) {
      require<value_error>(layout.contains(name), who, ": ", field, " excludes '", name,
                           "', which is not a slice of the parameters",
                           whole_buffer ? " (the TensorView overload sees one unnamed slice; step on a ParamBuffer or "
                                          "pass its ParamLayout)"
                                        : "");
    }
  }

 private:
  bool none_ = false;
  std::vector<std::string> excluded_;
  std::function<bool(const ParamSlice&)> predicate_;
};

namespace detail {

template <class T, Backend B>
class SliceTable {
 public:
  bool built() const noexcept { return !offsets_.empty(); }

  // Builds the table on the first step. layout = nullptr: the whole buffer is one slice.
  // With trust = true it also allocates the per-slice norm and ratio scratch.
  void build(const ParamLayout* layout, const Shape& shape, T weight_decay, const SliceMask& wd_mask,
             const SliceMask* trust_mask, const char* who) {
    whole_buffer_ = layout == nullptr;
    if (whole_buffer_) {
      layout_ = ParamLayout();
      layout_.add("", shape);
    } else {
      require<shape_error>(layout->total_size() == shape.size(), who, ": layout of ", layout->total_size(),
                           " parameters for a tensor of shape ", shape);
      layout_ = *layout;
    }
    wd_mask.check_names(layout_, whole_buffer_, who, "weight_decay_mask");
    if (trust_mask) trust_mask->check_names(layout_, whole_buffer_, who, "trust_ratio_mask");

    const index_t n = layout_.count();
    std::vector<index_t> offsets(n + 1);
    wd_host_.assign(n, T(0));
    trust_host_.assign(n, false);
    for (index_t s = 0; s < n; ++s) {
      const ParamSlice& slice = layout_[s];
      offsets[s] = slice.offset;
      if (wd_mask.contains(slice)) wd_host_[s] = weight_decay;
      if (trust_mask) trust_host_[s] = trust_mask->contains(slice);
    }
    offsets[n] = layout_.total_size();
    offsets_ = Tensor<index_t, B>(Shape{n + 1}, std::span<const index_t>(offsets));
    wd_ = Tensor<T, B>(Shape{n}, std::span<const T>(wd_host_));
    if (trust_mask) {
      w_sq_ = Tensor<double, B>(Shape{n});
      d_sq_ = Tensor<double, B>(Shape{n});
      ratio_ = Tensor<T, B>(Shape{n});
      w_sq_host_.assign(n, 0.0);
      d_sq_host_.assign(n, 0.0);
      ratio_host_.assign(n, T(1));
    }
  }

  // Throws shape_error unless a later step's parameters fit the table.
  void check(const ParamLayout* layout, index_t size, const char* who) const {
    const bool same = layout ? (!whole_buffer_ && *layout == layout_) : (whole_buffer_ && layout_.total_size() == size);
    require<shape_error>(same, who, ": state was built for ", layout_.total_size(), " parameters in ",
                         layout_.count(), " slice(s)", whole_buffer_ ? " (a TensorView)" : "", ", got ", size,
                         " parameters", layout ? " in a different layout" : " as a TensorView",
                         "; call reset() to reuse the optimizer on other parameters");
  }

  void build_or_check(const ParamLayout* layout, const Shape& shape, T weight_decay, const SliceMask& wd_mask,
                      const SliceMask* trust_mask, const char* who) {
    if (built()) check(layout, shape.size(), who);
    else build(layout, shape, weight_decay, wd_mask, trust_mask, who);
  }

  void reset() { *this = SliceTable(); }

  // An update of [offset, offset + count) only (Optimizer::step_in_parts), cut where it
  // crosses slices: f(begin, end, offsets, wd) for each piece [begin, end) inside one slice,
  // with offsets = {0, end − begin} and wd = that slice's decay, the views an update kernel
  // takes for one slice starting at begin. They point into host memory: the cpu only.
  template <class F>
    requires std::same_as<B, cpu>
  void for_each_piece(index_t offset, index_t count, F&& f) const {
    for (index_t s = 0; s < layout_.count(); ++s) {
      const ParamSlice& slice = layout_[s];
      const index_t begin = std::max(offset, slice.offset);
      const index_t end = std::min(offset + count, slice.offset + slice.shape.size());
      if (begin >= end) continue;
      const index_t local[2] = {0, end - begin};
      f(begin, end, TensorView<const index_t, B>(local, Shape{2}), TensorView<const T, B>(wd_.data() + s, Shape{1}));
    }
  }

  const ParamLayout& layout() const noexcept { return layout_; }
  index_t count() const noexcept { return layout_.count(); }
  TensorView<const index_t, B> offsets() const noexcept { return offsets_.view(); }
  TensorView<const T, B> weight_decay() const noexcept { return wd_.view(); }
  T weight_decay(index_t s) const noexcept { return wd_host_[s]; }
  bool trust_applies(index_t s) const noexcept { return trust_host_[s]; }

  // Per-slice scratch of the trust ratio: ‖w‖² and ‖d‖² (d = the gradient for LARS, the
  // update for LAMB) filled on the backend, read to the host, the ratios written back.
  TensorView<double, B> w_sq() noexcept { return w_sq_.view(); }
  TensorView<double, B> d_sq() noexcept { return d_sq_.view(); }
  void read_norms() {
    memory<B>::to_host(w_sq_host_.data(), w_sq_.data(), count());
    memory<B>::to_host(d_sq_host_.data(), d_sq_.data(), count());
  }
  double w_sq(index_t s) const noexcept { return w_sq_host_[s]; }
  double d_sq(index_t s) const noexcept { return d_sq_host_[s]; }
  std::vector<T>& host_ratios() noexcept { return ratio_host_; }
  const std::vector<T>& host_ratios() const noexcept { return ratio_host_; }
  TensorView<const T, B> upload_ratios() {
    memory<B>::from_host(ratio_.data(), ratio_host_.data(), count());
    return ratio_.view();
  }

 private:
  ParamLayout layout_;
  bool whole_buffer_ = true;
  Tensor<index_t, B> offsets_;
  Tensor<T, B> wd_;
  std::vector<T> wd_host_;
  std::vector<bool> trust_host_;
  Tensor<double, B> w_sq_, d_sq_;
  Tensor<T, B> ratio_;
  std::vector<double> w_sq_host_, d_sq_host_;
  std::vector<T> ratio_host_;
};

}  // namespace detail
}  // namespace minibatch
