// SoftmaxCrossEntropy: the loss head for k-class classification with integer labels.
//
//   L = (1/n) Σᵢ −log softmax(zᵢ)[yᵢ],   ∂L/∂zᵢ = (softmax(zᵢ) − onehot(yᵢ)) / n
//
// Computed in one fused, numerically stable pass (ops<B>::softmax_xent). Accuracy counts
// rows whose argmax is the label.
#pragma once

#include <cstdint>

#include "minibatch/backend/cpu/ops.hpp"

namespace minibatch {

struct SoftmaxCrossEntropy {
  template <class T>
  using target_of = std::int32_t;
  static constexpr bool has_accuracy = true;

  template <class T, class B>
  static void apply(TensorView<const T, B> logits, TensorView<const std::int32_t, B> labels, TensorView<T, B> dlogits,
                    TensorView<T, B> loss) {
    ops<B>::softmax_xent(logits, labels, dlogits, loss);
  }

  template <class T, class B>
  static index_t correct(TensorView<const T, B> logits, TensorView<const std::int32_t, B> labels) {
    return ops<B>::count_correct(logits, labels);
  }
};

}  // namespace minibatch
