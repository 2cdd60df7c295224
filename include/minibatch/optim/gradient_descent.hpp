// GradientDescent<T, Backend>: the plain update
//
//     θ ← θ − η·g            (η = lr, g = the mean gradient of the batch)
//
// Stateless. With a FullBatchSampler in SGD this is vanilla gradient descent; with any
// other sampler it is plain minibatch SGD. One fused pass over the parameters.
#pragma once

#include "minibatch/backend/cpu/ops.hpp"
#include "minibatch/optim/checks.hpp"
#include "minibatch/optim/optimizer_base.hpp"
#include "minibatch/optim/state.hpp"
#include "minibatch/tensor/param_buffer.hpp"
#include "minibatch/tensor/tensor_view.hpp"

namespace minibatch {

template <class T>
struct GradientDescentOptions {
  T lr = T(0.01);
};

template <class T, Backend B = cpu>
class GradientDescent : public detail::OptimizerBase<GradientDescent<T, B>, T, B, GradientDescentOptions<T>> {
  using Base = detail::OptimizerBase<GradientDescent<T, B>, T, B, GradientDescentOptions<T>>;
  friend Base;

 public:
  using typename Base::Options;
  static constexpr bool uses_slices = false;
  static constexpr bool steps_in_parts = true;
  static constexpr const char* name() { return "GradientDescent"; }

  explicit GradientDescent(Options options = {}) : Base(std::move(options)) {}

 private:
  using Base::options_;
  using Base::steps_;

  void step_impl(TensorView<T, B> params, TensorView<const T, B> grads, const ParamLayout*) {
    detail::check_step_args(params, grads, "GradientDescent::step");
    update_part(params, grads, 0);
    ++steps_;
  }

  void prepare_step(TensorView<T, B>) {}
  void update_part(TensorView<T, B> params, TensorView<const T, B> part, index_t offset) {
    ops<B>::gd_update(TensorView<T, B>(params.data() + offset, part.shape()), part, options_.lr);
  }

  // Checkpoint state, what state() hands out (optim/state.hpp): kind "GradientDescent", no tensors.
  template <class Self>
  static detail::state_handle_t<Self, T, B> state_of(Self& self) {
    return {"GradientDescent", &self.steps_, {}};
  }
};

}  // namespace minibatch
