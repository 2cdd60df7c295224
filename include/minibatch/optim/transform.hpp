// Update transforms, composed the Optax way: small named steps, each with its own state
// and its formula in its header, chained into an optimizer. They are the readable
// reference for the fused optimizers (Adam, LARS, …), which must give the same iterates.
// CPU only, plain loops, no attempt at speed.
//
// A transform rewrites the update u in place; it sees the current parameters θ and their
// layout (per-slice transforms use the slices; the others ignore them):
//
//     t.update(TensorView<T> u, TensorView<const T> theta, const ParamLayout& layout)
//
// u enters as the gradient g and leaves as the step to ADD to θ: apply_updates does
// θ ← θ + u. The sign flip lives in the learning-rate transforms:
//
//     scale_by_learning_rate(η):   u ← −η·u
//     scale_by_schedule(s):        u ← −s(t)·u        t = 0, 1, … its own call count
//
// so chain(scale_by_learning_rate(η)) is gradient descent θ ← θ − η·g, and
// Composed<T, Chain> runs any chain as an optimizer with step(params, grads).
#pragma once

#include <concepts>
#include <tuple>
#include <utility>
#include <vector>

#include "minibatch/optim/checks.hpp"
#include "minibatch/optim/schedules.hpp"
#include "minibatch/tensor/param_buffer.hpp"
#include "minibatch/tensor/tensor_view.hpp"

namespace minibatch {

template <class X, class T>
concept UpdateTransform =
    requires(X& x, TensorView<T, cpu> u, TensorView<const T, cpu> theta, const ParamLayout& layout) {
      x.update(u, theta, layout);
    };

template <class T>
struct ScaleByLearningRate {
  T lr;
  void update(TensorView<T, cpu> u, TensorView<const T, cpu>, const ParamLayout&) const {
    for (index_t i = 0; i < u.size(); ++i) u[i] = -lr * u[i];
  }
};

template <class T>
ScaleByLearningRate<T> scale_by_learning_rate(T lr) {
  detail::check_learning_rate(lr, "scale_by_learning_rate");
  return {lr};
}

template <class T, Schedule S>
struct ScaleBySchedule {
  S schedule;
  index_t count = 0;
  void update(TensorView<T, cpu> u, TensorView<const T, cpu>, const ParamLayout&) {
    const T lr = static_cast<T>(schedule(count++));
    for (index_t i = 0; i < u.size(); ++i) u[i] = -lr * u[i];
  }
};

template <class T, Schedule S>
ScaleBySchedule<T, S> scale_by_schedule(S schedule) {
  return {std::move(schedule)};
}

// The transforms applied left to right.
template <class... Ts>
class Chain {
 public:
  explicit Chain(Ts... transforms) : transforms_(std::move(transforms)...) {}

  template <class T>
  void update(TensorView<T, cpu> u, TensorView<const T, cpu> theta, const ParamLayout& layout) {
    std::apply([&](auto&... t) { (t.update(u, theta, layout), ...); }, transforms_);
  }

  template <index_t I>
  auto& get() noexcept {
    return std::get<I>(transforms_);
  }

 private:
  std::tuple<Ts...> transforms_;
};

template <class... Ts>
Chain<Ts...> chain(Ts... transforms) {
  return Chain<Ts...>(std::move(transforms)...);
}

// θ ← θ + u.
template <class T>
void apply_updates(TensorView<T, cpu> theta, TensorView<const T, cpu> u) {
  require_same_shape(theta, u, "apply_updates");
  for (index_t i = 0; i < theta.size(); ++i) theta[i] += u[i];
}

// Runs a transform as an optimizer: u ← g, transform(u), θ ← θ + u. On a TensorView the
// whole buffer is one slice named ""; on a ParamBuffer its layout gives the slices.
template <class T, class Transform>
  requires UpdateTransform<Transform, T>
class Composed {
 public:
  using value_type = T;
  using backend_type = cpu;

  explicit Composed(Transform transform) : transform_(std::move(transform)) {}

  void step(TensorView<T, cpu> params, TensorView<const T, cpu> grads) {
    detail::check_step_args(params, grads, "Composed::step");
    if (whole_.count() == 0 || whole_.total_size() != params.size()) {
      whole_ = ParamLayout();
      whole_.add("", params.shape());
    }
    step(params, grads, whole_);
  }
  void step(TensorView<T, cpu> params, TensorView<const T, cpu> grads, const ParamLayout& layout) {
    detail::check_step_args(params, grads, "Composed::step");
    require<shape_error>(layout.total_size() == params.size(), "Composed::step: layout of ", layout.total_size(),
                         " parameters for a tensor of shape ", params.shape());
    u_.resize(params.size());
    for (index_t i = 0; i < params.size(); ++i) u_[i] = grads[i];
    const TensorView<T, cpu> u(u_.data(), Shape{u_.size()});
    const TensorView<const T, cpu> theta(params.data(), Shape{params.size()});
    transform_.update(u, theta, layout);
    apply_updates(TensorView<T, cpu>(params.data(), Shape{params.size()}), TensorView<const T, cpu>(u));
    ++steps_;
  }
  void step(ParamBuffer<T, cpu>& params, const ParamBuffer<T, cpu>& grads) {
    step(params.flat(), grads.flat(), params.layout());
  }

  Transform& transform() noexcept { return transform_; }
  index_t steps() const noexcept { return steps_; }

 private:
  Transform transform_;
  ParamLayout whole_;
  std::vector<T> u_;
  index_t steps_ = 0;
};

template <class T, class Transform>
Composed<T, Transform> compose(Transform transform) {
  return Composed<T, Transform>(std::move(transform));
}

}  // namespace minibatch
