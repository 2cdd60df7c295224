// trace(μ, nesterov): the momentum transform (Optax's trace), t⁰ = 0:
//
//     t ← μ·t + u
//     u ← t                      (nesterov: u ← u + μ·t)
//
// Placed before scale_by_learning_rate it is PyTorch's velocity (v ← μ·v + g, θ ← θ − η·v,
// except that PyTorch's first step takes v = g, the same with t⁰ = 0 and no dampening);
// placed after it, it is the lecture form: t ← μ·t − η·g, θ ← θ + t (the two agree at a
// constant η). See transform.hpp for the transform convention.
#pragma once

#include <vector>

#include "minibatch/optim/checks.hpp"
#include "minibatch/optim/transform.hpp"

namespace minibatch {

template <class T>
struct Trace {
  T decay;
  bool nesterov = false;
  std::vector<T> t = {};

  void update(TensorView<T, cpu> u, TensorView<const T, cpu>, const ParamLayout&) {
    if (t.empty()) t.assign(u.size(), T(0));
    for (index_t i = 0; i < u.size(); ++i) {
      t[i] = decay * t[i] + u[i];
      u[i] = nesterov ? u[i] + decay * t[i] : t[i];
    }
  }
};

template <class T>
Trace<T> trace(T decay, bool nesterov = false) {
  detail::check_unit_interval(decay, "trace", "decay");
  return {decay, nesterov};
}

}  // namespace minibatch
