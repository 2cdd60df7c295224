// ops<cpu>: the cpu backend's element-wise operations on tensor views. The fused
// optimizer updates are the single-loop reference kernels (a memory-bound update is one
// pass; the compiler vectorises the loop); norms accumulate in double.
#pragma once

#include "minibatch/kernels/ref/norm.hpp"
#include "minibatch/kernels/ref/optim_update.hpp"
#include "minibatch/tensor/backend.hpp"
#include "minibatch/tensor/tensor_view.hpp"

namespace minibatch {

template <>
struct ops<cpu> {
  template <class T>
  static void gd_update(TensorView<T, cpu> theta, TensorView<const T, cpu> g, T lr) {
    kernels::ref::gd_update(theta.data(), g.data(), theta.size(), lr);
  }

  template <class T>
  static void momentum_update(TensorView<T, cpu> theta, TensorView<T, cpu> m, TensorView<const T, cpu> g, T lr,
                              T momentum, bool nesterov) {
    kernels::ref::momentum_update(theta.data(), m.data(), g.data(), theta.size(), lr, momentum, nesterov);
  }

  template <class T>
  static void momentum_update_torch(TensorView<T, cpu> theta, TensorView<T, cpu> v, TensorView<const T, cpu> g,
                                    T lr, T momentum, T dampening, bool nesterov, bool first_step) {
    kernels::ref::momentum_update_torch(theta.data(), v.data(), g.data(), theta.size(), lr, momentum, dampening,
                                        nesterov, first_step);
  }

  template <class T>
  static double l2_norm(TensorView<const T, cpu> x) {
    return kernels::ref::l2_norm(x.data(), x.size());
  }
};

}  // namespace minibatch
