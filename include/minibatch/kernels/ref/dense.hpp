// Dense (fully connected) layer, forward and backward, reference loops.
//
//   dense_forward:  y[i][j] = b[j] + Σₖ x[i][k]·W[k][j]      y = x·W + b
//   dense_backward: dW[k][j] = Σᵢ x[i][k]·dy[i][j]            dW = xᵀ·dy
//                   db[j]    = Σᵢ dy[i][j]                    db = column sums of dy
//                   dx[i][k] = Σⱼ dy[i][j]·W[k][j]            dx = dy·Wᵀ
//
// Row-major: x is n×in, W is in×out, b has out entries, y and dy are n×out. b may be
// nullptr (no bias); any of dx, dW, db may be nullptr to skip that gradient. Outputs must
// not overlap inputs. Gradients OVERWRITE their output, they do not accumulate. dy is the
// gradient of the batch's MEAN loss and so already carries the 1/n. Sums accumulate in T,
// in i-k-j loop order (the inner loop walks a contiguous row).
#pragma once

#include <cstddef>

#include "minibatch/kernels/ref/bias.hpp"

namespace minibatch::kernels::ref {

template <class T>
void dense_forward(const T* x, const T* W, const T* b, T* y, std::size_t n, std::size_t in,
                   std::size_t out) {
  for (std::size_t i = 0; i < n; ++i) {
    T* yi = y + i * out;
    for (std::size_t j = 0; j < out; ++j) yi[j] = b ? b[j] : T(0);
    for (std::size_t k = 0; k < in; ++k) {
      const T xik = x[i * in + k];
      const T* Wk = W + k * out;
      for (std::size_t j = 0; j < out; ++j) yi[j] += xik * Wk[j];
    }
  }
}

template <class T>
void dense_backward(const T* x, const T* W, const T* dy, T* dx, T* dW, T* db, std::size_t n,
                    std::size_t in, std::size_t out) {
  if (dW) {
    for (std::size_t e = 0; e < in * out; ++e) dW[e] = T(0);
    for (std::size_t i = 0; i < n; ++i) {
      const T* dyi = dy + i * out;
      for (std::size_t k = 0; k < in; ++k) {
        const T xik = x[i * in + k];
        T* dWk = dW + k * out;
        for (std::size_t j = 0; j < out; ++j) dWk[j] += xik * dyi[j];
      }
    }
  }
  if (db) bias_backward(dy, db, n, out);
  if (dx) {
    for (std::size_t i = 0; i < n; ++i) {
      const T* dyi = dy + i * out;
      for (std::size_t k = 0; k < in; ++k) {
        const T* Wk = W + k * out;
        T sum = T(0);
        for (std::size_t j = 0; j < out; ++j) sum += dyi[j] * Wk[j];
        dx[i * in + k] = sum;
      }
    }
  }
}

}  // namespace minibatch::kernels::ref
