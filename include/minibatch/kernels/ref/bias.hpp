// Bias add and its gradient, reference loops.
//
//   bias_add(y, b, n, cols):       y[i][j] += b[j]                 (in place)
//   bias_backward(dy, db, n, cols): db[j] = Σᵢ dy[i][j]            (column sums)
//
// y and dy are row-major n×cols, b and db have cols entries. Gradients OVERWRITE their
// output (db is not accumulated into). dy is the gradient of the batch's MEAN loss, so it
// already carries the 1/n; nothing here divides by n again.
#pragma once

#include <cstddef>

namespace minibatch::kernels::ref {

template <class T>
void bias_add(T* y, const T* b, std::size_t n, std::size_t cols) {
  for (std::size_t i = 0; i < n; ++i) {
    T* row = y + i * cols;
    for (std::size_t j = 0; j < cols; ++j) row[j] += b[j];
  }
}

template <class T>
void bias_backward(const T* dy, T* db, std::size_t n, std::size_t cols) {
  for (std::size_t j = 0; j < cols; ++j) db[j] = T(0);
  for (std::size_t i = 0; i < n; ++i) {
    const T* row = dy + i * cols;
    for (std::size_t j = 0; j < cols; ++j) db[j] += row[j];
  }
}

}  // namespace minibatch::kernels::ref
