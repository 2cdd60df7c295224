// OptimizerBase<Derived, T, Backend, Options>: what every optimizer shares, written once.
// It names the scalar and backend, keeps the options and the step counter, checks the lr
// on construction and on every set_lr (schedules), and funnels the step overloads into
// the optimizer's own
//
//   step_impl(TensorView<T, B> params, TensorView<const T, B> grads, const ParamLayout* layout)
//
// where layout is null for a plain buffer (one slice) and the buffer's layout for a
// ParamBuffer, and exposes the optimizer's checkpoint state through Derived::state_of. step(params, grads, layout) exists for optimizers whose update depends on
// the slices (Derived::uses_slices: trust ratios, weight-decay masks).
#pragma once

#include <utility>

#include "minibatch/optim/checks.hpp"
#include "minibatch/optim/state.hpp"
#include "minibatch/tensor/param_buffer.hpp"
#include "minibatch/tensor/tensor_view.hpp"

namespace minibatch::detail {

template <class Derived, class T, Backend B, class OptionsT>
class OptimizerBase {
 public:
  using value_type = T;
  using backend_type = B;
  using Options = OptionsT;

  void step(TensorView<T, B> params, TensorView<const T, B> grads) { derived().step_impl(params, grads, nullptr); }
  // (A member template, so the constraint is checked at the call, when Derived is
  // complete: clang checks a plain member's requires-clause at class instantiation.)
  template <class D = Derived>
    requires D::uses_slices
  void step(TensorView<T, B> params, TensorView<const T, B> grads, const ParamLayout& layout) {
    derived().step_impl(params, grads, &layout);
  }
  void step(ParamBuffer<T, B>& params, const ParamBuffer<T, B>& grads) {
    derived().step_impl(params.flat(), grads.flat(), &params.layout());
  }

  T lr() const noexcept { return options_.lr; }
  void set_lr(T lr) {
    check_learning_rate(lr, Derived::name());
    options_.lr = lr;
  }
  const Options& options() const noexcept { return options_; }
  index_t steps() const noexcept { return steps_; }

  // Checkpoint handle (optim/state.hpp): the kind, the step counter and the state tensors
  // that Derived::state_of names.
  OptimizerState<T, B> state() { return Derived::state_of(derived()); }
  OptimizerState<const T, B> state() const { return Derived::state_of(derived()); }

 protected:
  explicit OptimizerBase(Options options) : options_(std::move(options)) {
    check_learning_rate(options_.lr, Derived::name());
  }

  Options options_;
  index_t steps_ = 0;

 private:
  Derived& derived() noexcept { return static_cast<Derived&>(*this); }
  const Derived& derived() const noexcept { return static_cast<const Derived&>(*this); }
};

}  // namespace minibatch::detail
