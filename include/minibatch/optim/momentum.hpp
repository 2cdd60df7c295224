// Momentum<T, Backend>: gradient descent with momentum (heavy ball), in two forms.
//
// Lecture form (default, MomentumForm::lecture), λ = momentum, η = lr, m⁰ = 0:
//
//     m ← λ·m − η·g
//     θ ← θ + m
//
//   with nesterov = true, the look-ahead written at the current iterate (Sutskever 2013):
//
//     m ← λ·m − η·g
//     θ ← θ + λ·m − η·g
//
// PyTorch form (MomentumForm::pytorch, torch.optim.SGD), μ = momentum, d = dampening:
//
//     v ← g                      on the first step
//     v ← μ·v + (1 − d)·g        afterwards
//     θ ← θ − η·v                (nesterov: θ ← θ − η·(g + μ·v))
//
// With a constant lr and d = 0 both forms give the same iterates (m = −η·v). Under a
// learning-rate schedule they differ: the lecture form scales each gradient by the lr
// of the step it was taken at, the PyTorch form rescales the whole velocity by the
// current lr. Choose the PyTorch form to port PyTorch code and get the same numbers.
//
// State: one velocity buffer shaped like the parameters, allocated on the first step;
// every later step allocates nothing and is one fused pass over the flat parameters (or,
// through step_in_parts, one pass per part of the gradient as backward produces it).
// A state entry below the smallest normal number (2⁻¹²⁶ in float) is stored as 0, so
// a parameter whose gradient stops does not leave it decaying through subnormal floats, which
// cost a microcode assist per operation on x86 (kernels/subnormal.hpp).
#pragma once

#include "minibatch/backend/cpu/ops.hpp"
#include "minibatch/optim/checks.hpp"
#include "minibatch/optim/optimizer_base.hpp"
#include "minibatch/optim/state.hpp"
#include "minibatch/tensor/param_buffer.hpp"
#include "minibatch/tensor/tensor.hpp"

namespace minibatch {

enum class MomentumForm { lecture, pytorch };

template <class T>
struct MomentumOptions {
  T lr = T(0.01);
  T momentum = T(0.9);
  bool nesterov = false;
  MomentumForm form = MomentumForm::lecture;
  T dampening = T(0);  // PyTorch form only
};

template <class T, Backend B = cpu>
class Momentum : public detail::OptimizerBase<Momentum<T, B>, T, B, MomentumOptions<T>> {
  using Base = detail::OptimizerBase<Momentum<T, B>, T, B, MomentumOptions<T>>;
  friend Base;

 public:
  using typename Base::Options;
  static constexpr bool uses_slices = false;
  static constexpr bool steps_in_parts = true;
  static constexpr const char* name() { return "Momentum"; }

  explicit Momentum(Options options = {}) : Base(std::move(options)) {
    detail::check_unit_interval(options_.momentum, "Momentum", "momentum");
    require<value_error>(options_.dampening >= T(0) && options_.dampening <= T(1),
                         "Momentum: dampening must be in [0, 1], got dampening = ", options_.dampening);
    require<value_error>(options_.form == MomentumForm::pytorch || options_.dampening == T(0),
                         "Momentum: dampening = ", options_.dampening,
                         " applies to the PyTorch form only; set form = MomentumForm::pytorch");
    require<value_error>(!(options_.nesterov && options_.form == MomentumForm::pytorch) ||
                             (options_.momentum > T(0) && options_.dampening == T(0)),
                         "Momentum: PyTorch-form Nesterov needs momentum > 0 and dampening = 0, got momentum = ",
                         options_.momentum, ", dampening = ", options_.dampening);
  }

  // The velocity m (lecture form) or v (PyTorch form); empty before the first step.
  const Tensor<T, B>& velocity() const noexcept { return velocity_; }
  Tensor<T, B>& velocity() noexcept { return velocity_; }

  // Forgets the state: the next step starts from m = 0 and may see other parameters.
  void reset() {
    velocity_ = Tensor<T, B>();
    steps_ = 0;
  }

 private:
  using Base::options_;
  using Base::steps_;

  void step_impl(TensorView<T, B> params, TensorView<const T, B> grads, const ParamLayout*) {
    detail::check_step_args(params, grads, "Momentum::step");
    prepare_step(params);
    update_part(params, grads, 0);
    ++steps_;
  }

  void prepare_step(TensorView<T, B> params) {
    if (velocity_.empty()) {
      velocity_ = Tensor<T, B>(Shape{params.size()});
    } else {
      require<shape_error>(velocity_.size() == params.size(), "Momentum::step: state was built for ",
                           velocity_.size(), " parameters, got ", params.size(), " (shape ", params.shape(),
                           "); call reset() to reuse the optimizer on other parameters");
    }
  }

  // θ and the velocity at [offset, offset + part.size()) from that part of the gradient.
  void update_part(TensorView<T, B> params, TensorView<const T, B> part, index_t offset) {
    const TensorView<T, B> theta(params.data() + offset, part.shape()), v(velocity_.data() + offset, part.shape());
    if (options_.form == MomentumForm::lecture) {
      ops<B>::momentum_update(theta, v, part, options_.lr, options_.momentum, options_.nesterov);
    } else {
      ops<B>::momentum_update_torch(theta, v, part, options_.lr, options_.momentum, options_.dampening,
                                    options_.nesterov, steps_ == 0);
    }
  }

  // Checkpoint state, what state() hands out (optim/state.hpp): kind "Momentum" (lecture form) or "Momentum/pytorch"
  // (the two velocities mean different things), tensor "velocity".
  template <class Self>
  static detail::state_handle_t<Self, T, B> state_of(Self& self) {
    return {self.options_.form == MomentumForm::lecture ? "Momentum" : "Momentum/pytorch", &self.steps_,
            {{"velocity", &self.velocity_, true}}};
  }

  Tensor<T, B> velocity_;
};

}  // namespace minibatch
