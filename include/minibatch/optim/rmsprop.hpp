// RMSProp<T, Backend>: gradients divided by a running root-mean-square (Hinton 2012),
// exactly torch.optim.RMSprop (η = lr, α = alpha, μ = momentum, v⁰ = ḡ⁰ = b⁰ = 0):
//
//     g ← g + weight_decay·θ                      (coupled weight decay, masked per slice)
//     v ← α·v + (1 − α)·g²
//     d = √v + eps                                 (centered: ḡ ← α·ḡ + (1 − α)·g,
//                                                             d = √(v − ḡ²) + eps)
//     θ ← θ − η·g/d                                (momentum > 0: b ← μ·b + g/d, θ ← θ − η·b)
//
// There is no bias correction (v starts at 0, so the first steps are large: g/√(1−α)).
// Adam with β₁ = 0 is this update with v divided by 1 − αᵗ and eps outside the correction.
//
// State: v, and ḡ (centered) and b (momentum > 0) shaped like the parameters, allocated
// on the first step; every later step is one fused pass (ops<B>::rmsprop_update). On the
// cpu the step also comes in parts (step_in_parts, an update fused into backward), with
// the same bits.
#pragma once

#include <concepts>

#include "minibatch/backend/cpu/ops.hpp"
#include "minibatch/optim/checks.hpp"
#include "minibatch/optim/optimizer_base.hpp"
#include "minibatch/optim/option_checks.hpp"
#include "minibatch/optim/slice_mask.hpp"
#include "minibatch/optim/state.hpp"
#include "minibatch/tensor/param_buffer.hpp"
#include "minibatch/tensor/tensor.hpp"

namespace minibatch {

template <class T>
struct RMSPropOptions {
  T lr = T(0.01);
  T alpha = T(0.99);
  T eps = T(1e-8);
  T weight_decay = T(0);
  T momentum = T(0);
  bool centered = false;
  SliceMask weight_decay_mask = {};  // slices that get weight decay (default: all)
};

template <class T, Backend B = cpu>
class RMSProp : public detail::OptimizerBase<RMSProp<T, B>, T, B, RMSPropOptions<T>> {
  using Base = detail::OptimizerBase<RMSProp<T, B>, T, B, RMSPropOptions<T>>;
  friend Base;

 public:
  using typename Base::Options;
  static constexpr bool uses_slices = true;
  static constexpr bool steps_in_parts = std::same_as<B, cpu>;  // (the slice table is read on the host)
  static constexpr const char* name() { return "RMSProp"; }

  explicit RMSProp(Options options = {}) : Base(std::move(options)) {
    detail::check_unit_interval(options_.alpha, "RMSProp", "alpha");
    detail::check_positive(options_.eps, "RMSProp", "eps");
    detail::check_nonnegative(options_.weight_decay, "RMSProp", "weight_decay");
    detail::check_unit_interval(options_.momentum, "RMSProp", "momentum");
  }


  // v (square average), ḡ (grad average: centered only), b (momentum buffer: momentum > 0
  // only); empty before the first step or when unused.
  const Tensor<T, B>& square_avg() const noexcept { return square_avg_; }
  const Tensor<T, B>& grad_avg() const noexcept { return grad_avg_; }
  const Tensor<T, B>& momentum_buffer() const noexcept { return momentum_buffer_; }

  // Forgets the state: the next step starts from zero averages.
  void reset() {
    square_avg_ = Tensor<T, B>();
    grad_avg_ = Tensor<T, B>();
    momentum_buffer_ = Tensor<T, B>();
    slices_.reset();
    steps_ = 0;
  }

 private:
  using Base::options_;
  using Base::steps_;

  // Checkpoint state, what state() hands out (optim/state.hpp): kind "RMSProp", tensors "square_avg", "grad_avg" (centered only),
  // "momentum_buffer" (momentum > 0 only).
  template <class Self>
  static detail::state_handle_t<Self, T, B> state_of(Self& self) {
    return {"RMSProp",
            &self.steps_,
            {{"square_avg", &self.square_avg_, true},
             {"grad_avg", &self.grad_avg_, self.options_.centered},
             {"momentum_buffer", &self.momentum_buffer_, self.options_.momentum > T(0)}}};
  }

  void step_impl(TensorView<T, B> params, TensorView<const T, B> grads, const ParamLayout* layout) {
    detail::check_step_args(params, grads, "RMSProp::step");
    prepare(params, layout);
    ops<B>::rmsprop_update(params, square_avg_.view(), grad_avg_.view(), momentum_buffer_.view(), grads,
                           slices_.offsets(), slices_.weight_decay(), options_.lr, options_.alpha, options_.eps,
                           options_.momentum);
    ++steps_;
  }

  void prepare(TensorView<T, B> params, const ParamLayout* layout) {
    slices_.build_or_check(layout, params.shape(), options_.weight_decay, options_.weight_decay_mask, nullptr,
                           "RMSProp::step");
    if (square_avg_.empty()) {
      const Shape flat{params.size()};
      square_avg_ = Tensor<T, B>(flat);
      if (options_.centered) grad_avg_ = Tensor<T, B>(flat);
      if (options_.momentum > T(0)) momentum_buffer_ = Tensor<T, B>(flat);
    }
  }

  // step_in_parts: the parameters as one unnamed slice, as step(TensorView) sees them.
  void prepare_step(TensorView<T, B> params) { prepare(params, nullptr); }
  void update_part(TensorView<T, B> params, TensorView<const T, B> part, index_t offset) {
    slices_.for_each_piece(offset, part.size(), [&](index_t begin, index_t end, auto offsets, auto wd) {
      const Shape s{end - begin};
      const auto at = [&](Tensor<T, B>& state) {  // an absent state stays an empty view
        return state.empty() ? TensorView<T, B>() : TensorView<T, B>(state.data() + begin, s);
      };
      ops<B>::rmsprop_update(TensorView<T, B>(params.data() + begin, s), at(square_avg_), at(grad_avg_),
                             at(momentum_buffer_), TensorView<const T, B>(part.data() + (begin - offset), s), offsets,
                             wd, options_.lr, options_.alpha, options_.eps, options_.momentum);
    });
  }

  Tensor<T, B> square_avg_, grad_avg_, momentum_buffer_;
  detail::SliceTable<T, B> slices_;
};

}  // namespace minibatch
