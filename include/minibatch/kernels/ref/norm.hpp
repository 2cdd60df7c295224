// Sum of squares and Euclidean norm, reference loops (for gradient-norm diagnostics and
// the trust ratios of LARS/LAMB).
//
//   sum_squares(x, count) = Σᵢ xᵢ²
//   l2_norm(x, count)     = sqrt(Σᵢ xᵢ²)
//
// Both accumulate in double in one plain sequential loop and return double, whatever T is;
// count = 0 gives 0.
#pragma once

#include <cmath>
#include <cstddef>

namespace minibatch::kernels::ref {

template <class T>
double sum_squares(const T* x, std::size_t count) {
  double sum = 0.0;
  for (std::size_t i = 0; i < count; ++i) {
    const double v = static_cast<double>(x[i]);
    sum += v * v;
  }
  return sum;
}

template <class T>
double l2_norm(const T* x, std::size_t count) {
  return std::sqrt(sum_squares(x, count));
}

}  // namespace minibatch::kernels::ref
