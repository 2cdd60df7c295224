// 1-D linear interpolation between two solutions (Goodfellow et al. 2015; Keskar et al.
// 2017 fig. 3 with θ_a = small-batch, θ_b = large-batch solution):
//
//   θ(α) = α·θ_b + (1 − α)·θ_a,   row α: f(θ(α)) for each target (train, test, …)
//
// α = 0 is θ_a and α = 1 is θ_b exactly (θ(α) is formed in double on the host and rounded
// to T once); α outside [0, 1] extrapolates, e.g. alphas = linspace(−1, 2, 31). A sharp
// minimum shows as a narrow, steep valley around its α.
//
// Each target is an objective and the examples S to average over. With S empty the target
// is its whole data set: when the objective has evaluate(θ) (SupervisedObjective), that
// gives the loss and the accuracy, forward passes only; otherwise the loss is f_S over
// S = all examples (full_gradient.hpp) and the accuracy is NaN. A non-empty S always goes
// through full_loss_and_gradient (accuracy NaN). All targets share one objective type O.
// The point and gradient buffers are allocated once per call.
#pragma once

#include <concepts>
#include <limits>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "minibatch/diagnostics/full_gradient.hpp"

namespace minibatch {

template <class O>
struct InterpolationTarget {
  O* objective = nullptr;
  std::span<const index_t> indices = {};  // empty: the whole data set
};

struct InterpolationRow {
  double alpha = 0;
  std::vector<double> loss;      // one per target, in the order given
  std::vector<double> accuracy;  // one per target; NaN where the target has none
};

// count values from first to last, evenly spaced (first + (last − first)·i/(count − 1));
// the ends are exact, and so is every grid point whose value is exact in that formula
// (0 and 1 in linspace(−1, 2, 31)).
inline std::vector<double> linspace(double first, double last, index_t count) {
  require<value_error>(count >= 2 || (count == 1 && first == last), "linspace: ", count, " points from ", first, " to ",
                       last);
  std::vector<double> values(count);
  for (index_t i = 0; i < count; ++i)
    values[i] = first + (last - first) * static_cast<double>(i) / static_cast<double>(count > 1 ? count - 1 : 1);
  values.back() = last;
  return values;
}

namespace diagnostics_detail {

// An objective that evaluates loss and accuracy over its whole data set.
template <class O, class T, class B>
concept EvaluatesDataSet = requires(O& objective, TensorView<const T, B> params) {
  { objective.evaluate(params).loss } -> std::convertible_to<double>;
  { objective.evaluate(params).accuracy } -> std::convertible_to<double>;
};

}  // namespace diagnostics_detail

template <class O, class T, Backend B>
  requires SeparableObjective<O, std::remove_const_t<T>, B>
std::vector<InterpolationRow> interpolation_curve(const std::vector<InterpolationTarget<O>>& targets,
                                                  TensorView<T, B> theta_a,
                                                  std::type_identity_t<TensorView<T, B>> theta_b,
                                                  std::span<const double> alphas, index_t chunk = 0) {
  using V = std::remove_const_t<T>;
  using diagnostics_detail::copy_from_host;
  using diagnostics_detail::copy_to_host;
  require<value_error>(!targets.empty(), "interpolation_curve: no targets");
  require_same_shape(theta_a, theta_b, "interpolation_curve: θ_a and θ_b");
  const index_t n = theta_a.size();
  for (index_t t = 0; t < targets.size(); ++t)
    require<value_error>(targets[t].objective != nullptr, "interpolation_curve: target ", t, " has no objective");

  std::vector<std::vector<index_t>> everything(targets.size());  // S for the empty-S targets without evaluate()
  bool needs_gradient = false;
  for (index_t t = 0; t < targets.size(); ++t) {
    if (!targets[t].indices.empty()) {
      needs_gradient = true;
    } else if constexpr (!diagnostics_detail::EvaluatesDataSet<O, V, B>) {
      everything[t] = all_indices(targets[t].objective->size());
      needs_gradient = true;
    }
  }

  Tensor<V, B> point(Shape{n}), grad, scratch;
  if (needs_gradient) {
    grad = Tensor<V, B>(Shape{n});
    scratch = Tensor<V, B>(Shape{n});
  }
  std::vector<V> staging;
  std::vector<double> a, b, mixed(n);
  copy_to_host(TensorView<const V, B>(theta_a), staging, a);
  copy_to_host(TensorView<const V, B>(theta_b), staging, b);

  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<InterpolationRow> rows;
  rows.reserve(alphas.size());
  for (const double alpha : alphas) {
    for (index_t i = 0; i < n; ++i) mixed[i] = alpha * b[i] + (1 - alpha) * a[i];
    copy_from_host(std::span<const double>(mixed), staging, point.view());
    const TensorView<const V, B> at = std::as_const(point).view();
    InterpolationRow row{alpha, std::vector<double>(targets.size(), nan), std::vector<double>(targets.size(), nan)};
    for (index_t t = 0; t < targets.size(); ++t) {
      O& objective = *targets[t].objective;
      std::span<const index_t> S = targets[t].indices;
      if constexpr (diagnostics_detail::EvaluatesDataSet<O, V, B>) {
        if (S.empty()) {
          const auto e = objective.evaluate(at);
          row.loss[t] = static_cast<double>(e.loss);
          row.accuracy[t] = static_cast<double>(e.accuracy);
          continue;
        }
      }
      if (S.empty()) S = everything[t];
      row.loss[t] = full_loss_and_gradient(objective, at, S, grad.view(), chunk, scratch.view());
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace minibatch
