// SigmoidCrossEntropy: the loss head for binary classification (one logit, labels 0/1) —
// with a linear model this is logistic regression.
//
//   L = (1/n) Σᵢ [max(zᵢ, 0) − zᵢyᵢ + log(1 + e^{−|zᵢ|})],   ∂L/∂zᵢ = (σ(zᵢ) − yᵢ) / n
//
// Accuracy counts rows where (zᵢ > 0) equals yᵢ; it is an evaluation-time measure and
// reads the logits back to the host.
#pragma once

#include <cstdint>

#include "minibatch/backend/cpu/ops.hpp"

namespace minibatch {

struct SigmoidCrossEntropy {
  template <class T>
  using target_of = std::int32_t;
  static constexpr bool has_accuracy = true;

  template <class T, class B>
  static void apply(TensorView<const T, B> logits, TensorView<const std::int32_t, B> labels, TensorView<T, B> dlogits,
                    TensorView<T, B> loss) {
    require<shape_error>(logits.rank() == 2 && logits.shape()[1] == 1, "SigmoidCrossEntropy: logits of shape ",
                         logits.shape(), ", expected [n, 1]");
    ops<B>::sigmoid_xent(logits, labels, dlogits, loss);
  }

  template <class T, class B>
  static index_t correct(TensorView<const T, B> logits, TensorView<const std::int32_t, B> labels) {
    const auto z = logits.to_vector();
    const auto y = labels.to_vector();
    index_t hits = 0;
    for (index_t i = 0; i < z.size(); ++i) hits += (z[i] > T(0)) == (y[i] == 1);
    return hits;
  }
};

}  // namespace minibatch
