// Test objectives for the diagnostics: a separable quadratic with a known Hessian, and
// small random classification data for an Mlp.
//
//   Quadratic<T>: examples i = 0…m−1, fᵢ(θ) = ½(θ − cᵢ)ᵀA(θ − cᵢ), so over a set S
//     f_S(θ) = mean_S ½(θ − cᵢ)ᵀA(θ − cᵢ),  ∇f_S(θ) = A(θ − c̄_S),  ∇²f_S = A for every S.
//   With one example and c₀ = 0 it is f(θ) = ½θᵀAθ. max_batch() (the workspace limit the
//   diagnostics chunk by) is settable, to exercise chunked sums.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "minibatch/core/rng.hpp"
#include "minibatch/data/tensor_dataset.hpp"
#include "minibatch/tensor.hpp"

namespace diagnostics_testing {

namespace mb = minibatch;

template <class T>
struct Quadratic {
  mb::index_t dim = 0;
  std::vector<double> A;                 // dim × dim, symmetric, row-major
  std::vector<std::vector<double>> c;    // one centre per example
  mb::index_t batch_limit = 0;           // 0: no limit (max_batch() = size())

  mb::index_t size() const { return c.size(); }
  mb::index_t max_batch() const { return batch_limit ? batch_limit : size(); }

  double value(std::span<const double> theta, std::span<const mb::index_t> batch) const {
    double sum = 0;
    for (mb::index_t i : batch) {
      for (mb::index_t r = 0; r < dim; ++r)
        for (mb::index_t s = 0; s < dim; ++s) sum += 0.5 * (theta[r] - c[i][r]) * A[r * dim + s] * (theta[s] - c[i][s]);
    }
    return sum / static_cast<double>(batch.size());
  }

  std::vector<double> gradient(std::span<const double> theta, std::span<const mb::index_t> batch) const {
    std::vector<double> mean_c(dim, 0.0), g(dim, 0.0);
    for (mb::index_t i : batch)
      for (mb::index_t r = 0; r < dim; ++r) mean_c[r] += c[i][r] / static_cast<double>(batch.size());
    for (mb::index_t r = 0; r < dim; ++r)
      for (mb::index_t s = 0; s < dim; ++s) g[r] += A[r * dim + s] * (theta[s] - mean_c[s]);
    return g;
  }

  double loss_and_gradient(mb::TensorView<const T> theta, std::span<const mb::index_t> batch, mb::TensorView<T> grad) {
    mb::require<mb::shape_error>(!batch.empty() && batch.size() <= max_batch(), "Quadratic: batch of ", batch.size());
    const std::vector<double> t(theta.data(), theta.data() + theta.size());
    const std::vector<double> g = gradient(t, batch);
    for (mb::index_t r = 0; r < dim; ++r) grad[r] = static_cast<T>(g[r]);
    return value(t, batch);
  }
};

// A·v for the dim × dim row-major A.
inline std::vector<double> multiply(const std::vector<double>& A, const std::vector<double>& v) {
  const mb::index_t n = v.size();
  std::vector<double> out(n, 0.0);
  for (mb::index_t r = 0; r < n; ++r)
    for (mb::index_t s = 0; s < n; ++s) out[r] += A[r * n + s] * v[s];
  return out;
}

inline std::vector<double> random_vector(mb::index_t n, std::uint64_t seed) {
  mb::Rng rng(seed);
  std::vector<double> v(n);
  for (auto& x : v) x = rng.normal();
  return v;
}

// A symmetric matrix with a random dense eigenbasis: H·diag(eigenvalues)·H with the
// Householder reflection H = I − 2uuᵀ (u a random unit vector).
inline std::vector<double> with_spectrum(const std::vector<double>& eigenvalues, std::uint64_t seed) {
  const mb::index_t n = eigenvalues.size();
  std::vector<double> u = random_vector(n, seed);
  double norm = 0;
  for (double x : u) norm += x * x;
  for (auto& x : u) x /= std::sqrt(norm);
  std::vector<double> A(n * n, 0.0);
  for (mb::index_t r = 0; r < n; ++r)
    for (mb::index_t s = 0; s < n; ++s)
      for (mb::index_t k = 0; k < n; ++k) {
        const double hrk = (r == k ? 1.0 : 0.0) - 2 * u[r] * u[k];
        const double hks = (k == s ? 1.0 : 0.0) - 2 * u[k] * u[s];
        A[r * n + s] += hrk * eigenvalues[k] * hks;
      }
  return A;
}

// A random symmetric matrix (entries N(0, 1), symmetrised).
inline std::vector<double> random_symmetric(mb::index_t n, std::uint64_t seed) {
  std::vector<double> A = random_vector(n * n, seed);
  for (mb::index_t r = 0; r < n; ++r)
    for (mb::index_t s = 0; s < r; ++s) A[r * n + s] = A[s * n + r] = 0.5 * (A[r * n + s] + A[s * n + r]);
  return A;
}

template <class T>
Quadratic<T> single_quadratic(std::vector<double> A, mb::index_t dim) {
  return Quadratic<T>{dim, std::move(A), {std::vector<double>(dim, 0.0)}, 0};
}

inline mb::TensorDataset<double, std::int32_t> random_classification(mb::index_t n, mb::index_t d, int classes,
                                                                     std::uint64_t seed) {
  mb::Rng rng(seed);
  std::vector<double> x(n * d);
  std::vector<std::int32_t> y(n);
  for (auto& v : x) v = rng.normal();
  for (auto& v : y) v = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(classes)));
  return {mb::Tensor<double>(mb::Shape{n, d}, x), mb::Tensor<std::int32_t>(mb::Shape{n, 1}, y)};
}

}  // namespace diagnostics_testing
