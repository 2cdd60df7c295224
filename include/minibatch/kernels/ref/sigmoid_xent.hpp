// Binary logistic loss (sigmoid cross-entropy), one logit per example, reference loop.
//
//   Lᵢ   = −yᵢ·log σ(zᵢ) − (1 − yᵢ)·log(1 − σ(zᵢ))
//        = max(zᵢ, 0) − zᵢ·yᵢ + log1p(exp(−|zᵢ|))      (the stable form computed here)
//   L    = (1/n)·Σᵢ Lᵢ
//   dLdz = (σ(zᵢ) − yᵢ) / n
//
// logits, labels and dlogits have n entries; labels are 0 or 1. Returns the MEAN loss over
// the n examples; dlogits (OVERWRITTEN, never accumulated) carries the 1/n and may be
// nullptr to compute the loss only. The loss accumulates in double. All labels are checked
// before anything is written: a label outside {0, 1} throws index_error naming the
// example and the label; n = 0 throws shape_error.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "minibatch/core/error.hpp"
#include "minibatch/kernels/ref/activation.hpp"

namespace minibatch::kernels::ref {

template <class T>
T sigmoid_xent(const T* logits, const std::int32_t* labels, T* dlogits, std::size_t n) {
  require<shape_error>(n > 0, "sigmoid_xent: empty batch (n = 0), the mean loss is undefined");
  for (std::size_t i = 0; i < n; ++i) {
    require<index_error>(labels[i] == 0 || labels[i] == 1, "sigmoid_xent: example ", i,
                         " has label ", labels[i], ", expected 0 or 1");
  }
  const double inv_n = 1.0 / static_cast<double>(n);
  double loss = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double z = static_cast<double>(logits[i]);
    const double y = static_cast<double>(labels[i]);
    loss += std::max(z, 0.0) - z * y + std::log1p(std::exp(-std::abs(z)));
    if (dlogits) dlogits[i] = static_cast<T>((stable_sigmoid(z) - y) * inv_n);
  }
  return static_cast<T>(loss * inv_n);
}

}  // namespace minibatch::kernels::ref
