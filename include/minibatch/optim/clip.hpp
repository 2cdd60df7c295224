// Global-norm gradient clipping (Pascanu et al. 2013), with c = max_norm:
//
//     ‖g‖ = √(Σ over all parameters g²)
//     g ← g · min(1, c / ‖g‖)
//
// clip_grad_norm(g, c) clips a gradient buffer in place on any backend, before a fused
// optimizer's step, and returns ‖g‖ before clipping (as torch.nn.utils.clip_grad_norm_
// does; torch scales by c/(‖g‖ + 1e-6), we by c/‖g‖ exactly). clip_by_global_norm(c) is the
// same rule as a transform for chains (see transform.hpp).
#pragma once

#include <cmath>

#include "minibatch/backend/cpu/ops.hpp"
#include "minibatch/kernels/ref/norm.hpp"
#include "minibatch/optim/option_checks.hpp"
#include "minibatch/optim/transform.hpp"
#include "minibatch/tensor/param_buffer.hpp"
#include "minibatch/tensor/tensor.hpp"

namespace minibatch {

template <class T, Backend B>
double clip_grad_norm(TensorView<T, B> grads, double max_norm) {
  detail::check_positive(max_norm, "clip_grad_norm", "max_norm");
  const double norm = ops<B>::l2_norm(TensorView<const T, B>(grads));
  if (norm > max_norm) ops<B>::scale(grads, static_cast<T>(max_norm / norm));
  return norm;
}
template <class T, Backend B>
double clip_grad_norm(Tensor<T, B>& grads, double max_norm) {
  return clip_grad_norm(grads.view(), max_norm);
}
template <class T, Backend B>
double clip_grad_norm(ParamBuffer<T, B>& grads, double max_norm) {
  return clip_grad_norm(grads.flat(), max_norm);
}

template <class T>
struct ClipByGlobalNorm {
  T max_norm;

  void update(TensorView<T, cpu> u, TensorView<const T, cpu>, const ParamLayout&) const {
    const double norm = kernels::ref::l2_norm(u.data(), u.size());
    if (norm <= static_cast<double>(max_norm)) return;
    const T factor = static_cast<T>(static_cast<double>(max_norm) / norm);
    for (index_t i = 0; i < u.size(); ++i) u[i] *= factor;
  }
};

template <class T>
ClipByGlobalNorm<T> clip_by_global_norm(T max_norm) {
  detail::check_positive(max_norm, "clip_by_global_norm", "max_norm");
  return {max_norm};
}

}  // namespace minibatch
