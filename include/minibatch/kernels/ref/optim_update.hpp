// Element-wise optimizer updates, each one fused loop over all parameters, reference.
//
//   gd_update:        θ ← θ − lr·g
//   momentum_update (the lecture form, m⁰ = 0):
//                     m ← mu·m − lr·g;  θ ← θ + m
//     nesterov:       m ← mu·m − lr·g;  θ ← θ + mu·m − lr·g
//                     (the look-ahead step written at the current iterate, with the new m)
//   momentum_update_torch (PyTorch's torch.optim.SGD form, v⁰ unused):
//                     v ← g                              on the first step
//                     v ← mu·v + (1 − dampening)·g       afterwards
//                     d = nesterov ? g + mu·v : v;  θ ← θ − lr·d
//
// With a constant lr and dampening = 0 the two momentum forms give the same iterates
// (m = −lr·v); when lr changes between steps they do not, because the lecture form keeps
// the old lr inside m. theta and the state (m or v) are updated in place; g is the mean
// gradient of the batch. The state m or v is stored through flush_subnormal (a value below
// the smallest normal number becomes 0: kernels/subnormal.hpp). The scalars are taken as T (never deduced from them, so
// momentum_update(theta_f, m_f, g_f, n, 0.1, 0.9, false) compiles for float).
#pragma once

#include <cstddef>
#include <type_traits>

#include "minibatch/kernels/subnormal.hpp"

namespace minibatch::kernels::ref {

template <class T>
void gd_update(T* theta, const T* g, std::size_t count, std::type_identity_t<T> lr) {
  for (std::size_t i = 0; i < count; ++i) theta[i] -= lr * g[i];
}

template <class T>
void momentum_update(T* theta, T* m, const T* g, std::size_t count, std::type_identity_t<T> lr,
                     std::type_identity_t<T> mu, bool nesterov) {
  for (std::size_t i = 0; i < count; ++i) {
    m[i] = flush_subnormal(mu * m[i] - lr * g[i]);
    theta[i] += nesterov ? mu * m[i] - lr * g[i] : m[i];
  }
}

template <class T>
void momentum_update_torch(T* theta, T* v, const T* g, std::size_t count,
                           std::type_identity_t<T> lr, std::type_identity_t<T> mu,
                           std::type_identity_t<T> dampening, bool nesterov, bool first_step) {
  for (std::size_t i = 0; i < count; ++i) {
    v[i] = flush_subnormal(first_step ? g[i] : mu * v[i] + (T(1) - dampening) * g[i]);
    const T d = nesterov ? g[i] + mu * v[i] : v[i];
    theta[i] -= lr * d;
  }
}

}  // namespace minibatch::kernels::ref
