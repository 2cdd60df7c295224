// Mean squared error, loss and gradient in one pass, reference loop.
//
//   L     = (1/n)·Σᵢ ½‖predᵢ − targetᵢ‖²
//   dLdp  = (pred − target) / n
//
// pred, target and dpred are row-major n×dim. Returns the MEAN over the n examples of half
// the squared distance (summed, not averaged, over the dim components); dpred
// (OVERWRITTEN, never accumulated) carries the 1/n and may be nullptr to compute the loss
// only. The loss accumulates in double. n = 0 throws shape_error.
#pragma once

#include <cstddef>

#include "minibatch/core/error.hpp"

namespace minibatch::kernels::ref {

template <class T>
T mse(const T* pred, const T* target, T* dpred, std::size_t n, std::size_t dim) {
  require<shape_error>(n > 0, "mse: empty batch (n = 0), the mean loss is undefined");
  const double inv_n = 1.0 / static_cast<double>(n);
  double loss = 0.0;
  for (std::size_t e = 0; e < n * dim; ++e) {
    const double r = static_cast<double>(pred[e]) - static_cast<double>(target[e]);
    loss += 0.5 * r * r;
    if (dpred) dpred[e] = static_cast<T>(r * inv_n);
  }
  return static_cast<T>(loss * inv_n);
}

}  // namespace minibatch::kernels::ref
