// The adaptive preconditioners as transforms (see transform.hpp for the convention); each
// divides the incoming update u elementwise by a running statistic of it. Put weight
// decay before them for the coupled form, after them for the decoupled form.
//
// scale_by_adagrad(S⁰, eps):                     S ← S + u²;  u ← u / (√S + eps)
//
// scale_by_rms(α, eps, centered, bias_correction), v⁰ = ḡ⁰ = 0, t = 1, 2, …:
//     v ← α·v + (1 − α)·u²
//     plain:             u ← u / (√v + eps)                   (torch.optim.RMSprop)
//     centered:          ḡ ← α·ḡ + (1 − α)·u;  u ← u / (√(v − ḡ²) + eps)
//     bias_correction:   u ← u / (√(v / (1 − αᵗ)) + eps)      (not with centered)
//   The bias-corrected plain variant is Adam with β₁ = 0, β₂ = α.
//
// scale_by_adam(β₁, β₂, eps), m⁰ = v⁰ = 0, t = 1, 2, …:
//     m ← β₁·m + (1 − β₁)·u;  v ← β₂·v + (1 − β₂)·u²
//     u ← (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + eps)
#pragma once

#include <cmath>
#include <vector>

#include "minibatch/optim/checks.hpp"
#include "minibatch/optim/option_checks.hpp"
#include "minibatch/optim/transform.hpp"

namespace minibatch {

template <class T>
struct ScaleByAdagrad {
  T initial_accumulator_value;
  T eps;
  std::vector<T> sum = {};

  void update(TensorView<T, cpu> u, TensorView<const T, cpu>, const ParamLayout&) {
    if (sum.empty()) sum.assign(u.size(), initial_accumulator_value);
    for (index_t i = 0; i < u.size(); ++i) {
      sum[i] += u[i] * u[i];
      u[i] = u[i] / (std::sqrt(sum[i]) + eps);
    }
  }
};

template <class T>
ScaleByAdagrad<T> scale_by_adagrad(T initial_accumulator_value, T eps) {
  detail::check_nonnegative(initial_accumulator_value, "scale_by_adagrad", "initial_accumulator_value");
  detail::check_positive(eps, "scale_by_adagrad", "eps");
  return {initial_accumulator_value, eps};
}

template <class T>
struct ScaleByRms {
  T alpha;
  T eps;
  bool centered = false;
  bool bias_correction = false;
  std::vector<T> v = {}, gbar = {};
  index_t t = 0;

  void update(TensorView<T, cpu> u, TensorView<const T, cpu>, const ParamLayout&) {
    if (v.empty()) {
      v.assign(u.size(), T(0));
      if (centered) gbar.assign(u.size(), T(0));
    }
    ++t;
    const double correction = bias_correction ? 1.0 - std::pow(static_cast<double>(alpha), static_cast<double>(t)) : 1.0;
    for (index_t i = 0; i < u.size(); ++i) {
      v[i] = alpha * v[i] + (T(1) - alpha) * u[i] * u[i];
      T d;
      if (centered) {
        gbar[i] = alpha * gbar[i] + (T(1) - alpha) * u[i];
        d = std::sqrt(v[i] - gbar[i] * gbar[i]) + eps;
      } else {
        d = std::sqrt(v[i] / static_cast<T>(correction)) + eps;
      }
      u[i] = u[i] / d;
    }
  }
};

template <class T>
ScaleByRms<T> scale_by_rms(T alpha, T eps, bool centered = false, bool bias_correction = false) {
  detail::check_unit_interval(alpha, "scale_by_rms", "alpha");
  detail::check_positive(eps, "scale_by_rms", "eps");
  require<value_error>(!(centered && bias_correction), "scale_by_rms: bias_correction is for the plain variant, "
                                                       "not with centered = true");
  return {alpha, eps, centered, bias_correction};
}

template <class T>
struct ScaleByAdam {
  T beta1;
  T beta2;
  T eps;
  std::vector<T> m = {}, v = {};
  index_t t = 0;

  void update(TensorView<T, cpu> u, TensorView<const T, cpu>, const ParamLayout&) {
    if (m.empty()) {
      m.assign(u.size(), T(0));
      v.assign(u.size(), T(0));
    }
    ++t;
    const T bc1 = static_cast<T>(1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(t)));
    const T bc2 = static_cast<T>(1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(t)));
    for (index_t i = 0; i < u.size(); ++i) {
      m[i] = beta1 * m[i] + (T(1) - beta1) * u[i];
      v[i] = beta2 * v[i] + (T(1) - beta2) * u[i] * u[i];
      u[i] = (m[i] / bc1) / (std::sqrt(v[i] / bc2) + eps);
    }
  }
};

template <class T>
ScaleByAdam<T> scale_by_adam(T beta1, T beta2, T eps) {
  detail::check_unit_interval(beta1, "scale_by_adam", "beta1");
  detail::check_unit_interval(beta2, "scale_by_adam", "beta2");
  detail::check_positive(eps, "scale_by_adam", "eps");
  return {beta1, beta2, eps};
}

}  // namespace minibatch
