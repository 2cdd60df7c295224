// GradientDescent<T, Backend>: the plain update
//
//     θ ← θ − η·g            (η = lr, g = the mean gradient of the batch)
//
// Stateless. With a FullBatchSampler in SGD this is vanilla gradient descent; with any
// other sampler it is plain minibatch SGD. One fused pass over the parameters.
#pragma once

#include "minibatch/backend/cpu/ops.hpp"
#include "minibatch/optim/checks.hpp"
#include "minibatch/optim/state.hpp"
#include "minibatch/tensor/param_buffer.hpp"
#include "minibatch/tensor/tensor_view.hpp"

namespace minibatch {

template <class T>
struct GradientDescentOptions {
  T lr = T(0.01);
};

template <class T, Backend B = cpu>
class GradientDescent {
 public:
  using value_type = T;
  using backend_type = B;
  using Options = GradientDescentOptions<T>;

  explicit GradientDescent(Options options = {}) : options_(options) {
    detail::check_learning_rate(options_.lr, "GradientDescent");
  }

  void step(TensorView<T, B> params, TensorView<const T, B> grads) {
    detail::check_step_args(params, grads, "GradientDescent::step");
    ops<B>::gd_update(params, grads, options_.lr);
    ++steps_;
  }
  void step(ParamBuffer<T, B>& params, const ParamBuffer<T, B>& grads) { step(params.flat(), grads.flat()); }

  T lr() const noexcept { return options_.lr; }
  void set_lr(T lr) {
    detail::check_learning_rate(lr, "GradientDescent");
    options_.lr = lr;
  }
  const Options& options() const noexcept { return options_; }
  index_t steps() const noexcept { return steps_; }

  // Checkpoint handle (optim/state.hpp): kind "GradientDescent", no tensors.
  OptimizerState<T, B> state() { return state_of(*this); }
  OptimizerState<const T, B> state() const { return state_of(*this); }

 private:
  template <class Self>
  static detail::state_handle_t<Self, T, B> state_of(Self& self) {
    return {"GradientDescent", &self.steps_, {}};
  }

  Options options_;
  index_t steps_ = 0;
};

}  // namespace minibatch
