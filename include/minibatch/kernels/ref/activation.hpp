// Element-wise activations and their gradients, reference loops.
//
//   identity: y = x                    dx = dy
//   relu:     y = max(x, 0)            dx = dy·[y > 0]
//   tanh:     y = tanh(x)              dx = dy·(1 − y²)
//   sigmoid:  y = 1 / (1 + e^(−x))     dx = dy·y·(1 − y)
//
// The backward pass is written in terms of the forward OUTPUT y, so a layer keeps only y.
// activation_forward may run in place (y == x); activation_backward may run in place
// (dx == dy). Gradients OVERWRITE dx. relu passes NaN through (max(NaN, 0) = NaN); the
// sigmoid is evaluated in the form that cannot overflow for either sign of x.
// to_string / activation_from_string map to and from "identity", "relu", "tanh",
// "sigmoid"; an unknown name or enum value throws value_error naming it.
#pragma once

#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <string_view>

#include "minibatch/core/error.hpp"

namespace minibatch::kernels::ref {

enum class Activation { identity, relu, tanh, sigmoid };

inline std::string_view to_string(Activation act) {
  switch (act) {
    case Activation::identity:
      return "identity";
    case Activation::relu:
      return "relu";
    case Activation::tanh:
      return "tanh";
    case Activation::sigmoid:
      return "sigmoid";
  }
  throw value_error(
      minibatch::detail::concat("to_string: unknown Activation value ", static_cast<int>(act)));
}

inline Activation activation_from_string(std::string_view name) {
  for (Activation act :
       {Activation::identity, Activation::relu, Activation::tanh, Activation::sigmoid}) {
    if (name == to_string(act)) return act;
  }
  throw value_error(minibatch::detail::concat("activation_from_string: unknown activation \"", name,
                                              "\" (expected identity, relu, tanh or sigmoid)"));
}

// σ(x) = 1 / (1 + e^(−x)) without overflow: the exponential taken is e^(−|x|) ≤ 1.
template <class T>
T stable_sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

template <class T>
void activation_forward(Activation act, const T* x, T* y, std::size_t count) {
  switch (act) {
    case Activation::identity:
      for (std::size_t i = 0; i < count; ++i) y[i] = x[i];
      return;
    case Activation::relu:
      for (std::size_t i = 0; i < count; ++i) y[i] = x[i] < T(0) ? T(0) : x[i];
      return;
    case Activation::tanh:
      for (std::size_t i = 0; i < count; ++i) y[i] = std::tanh(x[i]);
      return;
    case Activation::sigmoid:
      for (std::size_t i = 0; i < count; ++i) y[i] = stable_sigmoid(x[i]);
      return;
  }
  throw value_error(minibatch::detail::concat("activation_forward: unknown Activation value ",
                                              static_cast<int>(act)));
}

template <class T>
void activation_backward(Activation act, const T* y, const T* dy, T* dx, std::size_t count) {
  switch (act) {
    case Activation::identity:
      for (std::size_t i = 0; i < count; ++i) dx[i] = dy[i];
      return;
    case Activation::relu:
      for (std::size_t i = 0; i < count; ++i) dx[i] = y[i] > T(0) ? dy[i] : T(0);
      return;
    case Activation::tanh:
      for (std::size_t i = 0; i < count; ++i) dx[i] = dy[i] * (T(1) - y[i] * y[i]);
      return;
    case Activation::sigmoid:
      for (std::size_t i = 0; i < count; ++i) dx[i] = dy[i] * y[i] * (T(1) - y[i]);
      return;
  }
  throw value_error(minibatch::detail::concat("activation_backward: unknown Activation value ",
                                              static_cast<int>(act)));
}

}  // namespace minibatch::kernels::ref
