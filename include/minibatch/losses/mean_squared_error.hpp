// MeanSquaredError: the loss head for regression (real targets, one row per example) —
// with a linear model this is linear least squares.
//
//   L = (1/n) Σᵢ ½‖pᵢ − tᵢ‖²,   ∂L/∂pᵢ = (pᵢ − tᵢ) / n
#pragma once

#include "minibatch/backend/cpu/ops.hpp"

namespace minibatch {

struct MeanSquaredError {
  template <class T>
  using target_of = T;
  static constexpr bool has_accuracy = false;

  template <class T, class B>
  static void apply(TensorView<const T, B> pred, TensorView<const T, B> target, TensorView<T, B> dpred,
                    TensorView<T, B> loss) {
    require_same_shape(pred, target, "MeanSquaredError");
    ops<B>::mse(pred, target, dpred, loss);
  }
};

}  // namespace minibatch
