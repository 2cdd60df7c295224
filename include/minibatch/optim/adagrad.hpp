// Adagrad<T, Backend>: per-coordinate learning rates from the sum of squared gradients
// (Duchi et al. 2011), exactly torch.optim.Adagrad (η = lr, S⁰ = initial_accumulator_value):
//
//     η_t = η / (1 + (t − 1)·lr_decay)          t = 1, 2, … the step number
//     g ← g + weight_decay·θ                      (coupled weight decay, masked per slice)
//     S ← S + g²
//     θ ← θ − η_t · g / (√S + eps)
//
// Coordinates with large past gradients get small steps; S only grows, so the effective
// learning rate decays by itself. set_lr changes η; lr_decay keeps applying on top of it.
//
// State: the accumulator S shaped like the parameters, allocated on the first step; every
// later step allocates nothing and is one fused pass (ops<B>::adagrad_update). On the cpu
// the step also comes in parts (step_in_parts, an update fused into backward), with the
// same bits.
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
struct AdagradOptions {
  T lr = T(0.01);
  T lr_decay = T(0);
  T weight_decay = T(0);
  T initial_accumulator_value = T(0);
  T eps = T(1e-10);
  SliceMask weight_decay_mask = {};  // slices that get weight decay (default: all)
};

template <class T, Backend B = cpu>
class Adagrad : public detail::OptimizerBase<Adagrad<T, B>, T, B, AdagradOptions<T>> {
  using Base = detail::OptimizerBase<Adagrad<T, B>, T, B, AdagradOptions<T>>;
  friend Base;

 public:
  using typename Base::Options;
  static constexpr bool uses_slices = true;
  static constexpr bool steps_in_parts = std::same_as<B, cpu>;  // (the slice table is read on the host)
  static constexpr const char* name() { return "Adagrad"; }

  explicit Adagrad(Options options = {}) : Base(std::move(options)) {
    detail::check_nonnegative(options_.lr_decay, "Adagrad", "lr_decay");
    detail::check_nonnegative(options_.weight_decay, "Adagrad", "weight_decay");
    detail::check_nonnegative(options_.initial_accumulator_value, "Adagrad", "initial_accumulator_value");
    detail::check_positive(options_.eps, "Adagrad", "eps");
  }


  // The accumulator S; empty before the first step.
  const Tensor<T, B>& sum() const noexcept { return sum_; }
  Tensor<T, B>& sum() noexcept { return sum_; }

  // Forgets the state: the next step starts from S = initial_accumulator_value.
  void reset() {
    sum_ = Tensor<T, B>();
    slices_.reset();
    steps_ = 0;
  }

 private:
  using Base::options_;
  using Base::steps_;

  // Checkpoint state, what state() hands out (optim/state.hpp): kind "Adagrad", tensor "sum" (S).
  template <class Self>
  static detail::state_handle_t<Self, T, B> state_of(Self& self) {
    return {"Adagrad", &self.steps_, {{"sum", &self.sum_, true}}};
  }

  void step_impl(TensorView<T, B> params, TensorView<const T, B> grads, const ParamLayout* layout) {
    detail::check_step_args(params, grads, "Adagrad::step");
    prepare(params, layout);
    ops<B>::adagrad_update(params, sum_.view(), grads, slices_.offsets(), slices_.weight_decay(), current_lr(),
                           options_.eps);
    ++steps_;
  }

  void prepare(TensorView<T, B> params, const ParamLayout* layout) {
    slices_.build_or_check(layout, params.shape(), options_.weight_decay, options_.weight_decay_mask, nullptr,
                           "Adagrad::step");
    if (sum_.empty()) {
      const std::vector<T> init(params.size(), options_.initial_accumulator_value);
      sum_ = Tensor<T, B>(Shape{params.size()}, std::span<const T>(init));
    }
  }
  T current_lr() const { return options_.lr / (T(1) + static_cast<T>(steps_) * options_.lr_decay); }

  // step_in_parts: the parameters as one unnamed slice, as step(TensorView) sees them.
  void prepare_step(TensorView<T, B> params) { prepare(params, nullptr); }
  void update_part(TensorView<T, B> params, TensorView<const T, B> part, index_t offset) {
    slices_.for_each_piece(offset, part.size(), [&](index_t begin, index_t end, auto offsets, auto wd) {
      const Shape s{end - begin};
      ops<B>::adagrad_update(TensorView<T, B>(params.data() + begin, s), TensorView<T, B>(sum_.data() + begin, s),
                             TensorView<const T, B>(part.data() + (begin - offset), s), offsets, wd, current_lr(),
                             options_.eps);
    });
  }

  Tensor<T, B> sum_;
  detail::SliceTable<T, B> slices_;
};

}  // namespace minibatch
