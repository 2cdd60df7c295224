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
//
// An element-wise optimizer (Derived::steps_in_parts: each θᵢ's update reads only gᵢ and
// its own state) also takes a step whose gradient arrives in parts:
//
//   step_in_parts(params, produce)    produce(apply) calls apply(offset, g_part) for each
//                                     part; the parts are disjoint and cover params
//
// which is the same step, bit for bit, as step(params, g) with g assembled from the parts.
// It is how an update is fused into backward (Mlp::backward with a part callback): each
// part is applied while it is still in cache, so the whole gradient is never written to
// memory and read back. Such an optimizer writes its step as prepare_step(params) (state
// allocated or checked), update_part(params, g_part, offset) for each part, then ++steps_.
#pragma once

#include <utility>

#include "minibatch/core/error.hpp"
#include "minibatch/optim/checks.hpp"
#include "minibatch/optim/state.hpp"
#include "minibatch/optim/update_rule.hpp"
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

  // One step from a gradient given in parts (see above). A part outside params is a
  // shape_error when it arrives; parts that do not add up to params.size() are a value_error
  // after the last one. Either way the parts given before have been applied and the step is
  // not counted: both are errors of the producer, not of the data.
  template <class Produce, class D = Derived>
    requires D::steps_in_parts
  void step_in_parts(TensorView<T, B> params, Produce&& produce) {
    require<shape_error>(!params.empty(), Derived::name(), "::step_in_parts: empty parameter tensor (shape ",
                         params.shape(), ")");
    derived().prepare_step(params);
    index_t covered = 0;
    produce([&](index_t offset, TensorView<const T, B> part) {
      require<shape_error>(offset <= params.size() && part.size() <= params.size() - offset, Derived::name(),
                           "::step_in_parts: part of ", part.size(), " values at offset ", offset, " lies outside the ",
                           params.size(), " parameters");
      derived().update_part(params, part, offset);
      covered += part.size();
    });
    require<value_error>(covered == params.size(), Derived::name(), "::step_in_parts: the parts held ", covered,
                         " values for ", params.size(), " parameters");
    ++steps_;
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
