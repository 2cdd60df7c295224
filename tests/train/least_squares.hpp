// Test objectives for the SGD loop: a least-squares problem fᵢ(θ) = ½(aᵢ·θ − bᵢ)² and a
// diagonal quadratic f(θ) = ½ Σ dⱼθⱼ² (one "example"), both SeparableObjective.
#pragma once

#include <span>
#include <vector>

#include "minibatch/core/rng.hpp"
#include "minibatch/tensor.hpp"

namespace testing_objectives {

namespace mb = minibatch;

struct LeastSquares {
  mb::index_t rows, cols;
  std::vector<double> A, b;  // row-major rows × cols, rows

  LeastSquares(mb::index_t m, mb::index_t d, double noise, std::uint64_t seed) : rows(m), cols(d), A(m * d), b(m) {
    mb::Rng rng(seed);
    std::vector<double> truth(d);
    for (auto& t : truth) t = rng.normal();
    for (mb::index_t i = 0; i < m; ++i) {
      double dot = 0;
      for (mb::index_t j = 0; j < d; ++j) {
        A[i * d + j] = rng.normal();
        dot += A[i * d + j] * truth[j];
      }
      b[i] = dot + noise * rng.normal();
    }
  }

  mb::index_t size() const { return rows; }

  double loss_and_gradient(mb::TensorView<const double> theta, std::span<const mb::index_t> batch,
                           mb::TensorView<double> grad) const {
    for (mb::index_t j = 0; j < cols; ++j) grad[j] = 0;
    double loss = 0;
    for (mb::index_t i : batch) {
      double r = -b[i];
      for (mb::index_t j = 0; j < cols; ++j) r += A[i * cols + j] * theta[j];
      loss += 0.5 * r * r;
      for (mb::index_t j = 0; j < cols; ++j) grad[j] += r * A[i * cols + j];
    }
    const double inv = 1.0 / static_cast<double>(batch.size());
    for (mb::index_t j = 0; j < cols; ++j) grad[j] *= inv;
    return loss * inv;
  }
};

struct DiagonalQuadratic {
  std::vector<double> d;

  mb::index_t size() const { return 1; }

  double loss_and_gradient(mb::TensorView<const double> theta, std::span<const mb::index_t>,
                           mb::TensorView<double> grad) const {
    double loss = 0;
    for (mb::index_t j = 0; j < d.size(); ++j) {
      grad[j] = d[j] * theta[j];
      loss += 0.5 * d[j] * theta[j] * theta[j];
    }
    return loss;
  }
};

}  // namespace testing_objectives
