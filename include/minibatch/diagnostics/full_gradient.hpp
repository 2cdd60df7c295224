// The loss the diagnostics look at: the mean of a SeparableObjective over one fixed set S
// of example indices (the training set, a test set, a subset of either),
//
//   f_S(θ) = (1/|S|) Σ_{i∈S} fᵢ(θ),   ∇f_S(θ) = (1/|S|) Σ_{i∈S} ∇fᵢ(θ),
//
// rather than over changing minibatches.
//
//   full_loss_and_gradient(objective, θ, S, grad, chunk)   grad ← ∇f_S(θ), returns f_S(θ)
//   all_indices(n)                                          {0, 1, …, n − 1}
//
// S is cut into consecutive chunks of at most `chunk` indices, for objectives whose
// workspace holds fewer rows than |S| (SupervisedObjective::max_batch()). Each chunk's
// mean is weighted by its size n_k/|S|, so the result is the mean over S however S is cut.
// chunk = 0 means objective.max_batch() when the objective has one, else |S| (one call).
// With more than one chunk, each chunk's gradient goes to `scratch` (allocated for the call
// when none is given) and is added to grad on the backend in T (ops<B>::gd_update with
// lr = −n_k/|S|, an axpy); the loss is summed in double.
//
// The diagnostics do their vector arithmetic (perturbed points, differences, Lanczos
// vectors) on host copies in double: parameters and gradients are copied between the
// backend and the host with memory<B>, so every diagnostic runs on any backend, and no
// code here loops over a backend view.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <numeric>
#include <span>
#include <type_traits>
#include <vector>

#include "minibatch/backend/cpu/ops.hpp"
#include "minibatch/core/error.hpp"
#include "minibatch/tensor/tensor.hpp"
#include "minibatch/train/objective.hpp"

namespace minibatch {

inline std::vector<index_t> all_indices(index_t n) {
  std::vector<index_t> indices(n);
  std::iota(indices.begin(), indices.end(), index_t{0});
  return indices;
}

namespace diagnostics_detail {

// The chunk size for a set of n examples: `chunk`, or the objective's max_batch(), or n.
template <class O>
index_t resolve_chunk(O& objective, index_t n, index_t chunk) {
  if (chunk == 0) {
    if constexpr (requires { { objective.max_batch() } -> std::convertible_to<index_t>; })
      chunk = objective.max_batch();
    else
      chunk = n;
  }
  require<value_error>(chunk > 0, "diagnostics: the chunk size resolved to 0 examples");
  return std::min(chunk, n);
}

// out ← x as doubles (staging holds the backend's T values on the host).
template <class T, Backend B>
void copy_to_host(TensorView<const T, B> x, std::vector<T>& staging, std::vector<double>& out) {
  staging.resize(x.size());
  out.resize(x.size());
  if (x.size()) memory<B>::to_host(staging.data(), x.data(), x.size());
  std::copy(staging.begin(), staging.end(), out.begin());
}

// out ← x rounded to T.
template <class T, Backend B>
void copy_from_host(std::span<const double> x, std::vector<T>& staging, TensorView<T, B> out) {
  require<shape_error>(x.size() == out.size(), "diagnostics: ", x.size(), " host values for a tensor of shape ",
                       out.shape());
  staging.resize(x.size());
  std::transform(x.begin(), x.end(), staging.begin(), [](double v) { return static_cast<T>(v); });
  if (x.size()) memory<B>::from_host(out.data(), staging.data(), x.size());
}

inline double dot(std::span<const double> a, std::span<const double> b) {
  double sum = 0;
  for (index_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

inline double norm(std::span<const double> a) { return std::sqrt(dot(a, a)); }

}  // namespace diagnostics_detail

// grad ← ∇f_S(θ); returns f_S(θ). T may be const (θ is only read).
template <class O, class T, Backend B>
  requires SeparableObjective<O, std::remove_const_t<T>, B>
double full_loss_and_gradient(O& objective, TensorView<T, B> params, std::span<const index_t> indices,
                              TensorView<std::remove_const_t<T>, B> grad, index_t chunk = 0,
                              TensorView<std::remove_const_t<T>, B> scratch = {}) {
  using V = std::remove_const_t<T>;
  const index_t n = indices.size();
  require<value_error>(n > 0, "full_loss_and_gradient: empty set of example indices");
  require_same_shape(params, grad, "full_loss_and_gradient: parameters and gradient");
  chunk = diagnostics_detail::resolve_chunk(objective, n, chunk);
  const TensorView<const V, B> theta(params);
  if (chunk == n) return static_cast<double>(objective.loss_and_gradient(theta, indices, grad));

  Tensor<V, B> owned;
  if (scratch.empty()) {
    owned = Tensor<V, B>(grad.shape());
    scratch = owned.view();
  }
  require_same_shape(grad, scratch, "full_loss_and_gradient: gradient and scratch");
  memory<B>::zero(grad.data(), grad.size());
  double loss = 0;
  for (index_t begin = 0; begin < n; begin += chunk) {
    const index_t count = std::min(chunk, n - begin);
    const double weight = static_cast<double>(count) / static_cast<double>(n);
    loss += weight * static_cast<double>(objective.loss_and_gradient(theta, indices.subspan(begin, count), scratch));
    ops<B>::gd_update(grad, TensorView<const V, B>(scratch), static_cast<V>(-weight));
  }
  return loss;
}

}  // namespace minibatch
