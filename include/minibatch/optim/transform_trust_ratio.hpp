// Per-slice trust ratios as transforms (see transform.hpp). Each slice s of the layout is
// rescaled by its own ratio; a slice outside the mask, or with a zero norm, keeps ratio 1.
//
// scale_by_lars_trust_ratio(η, β, trust_mask, wd_mask): LARS (You et al. 2017), placed
// first, on the raw gradient u = g:
//     λ_s = η·‖θ_s‖ / (‖u_s‖ + β_s·‖θ_s‖)          β_s = β in wd_mask, else 0
//     u_s ← λ_s·(u_s + β_s·θ_s)
//   It carries LARS's weight decay because the paper's ratio is defined from ‖g‖ and β.
//   LARS = chain(scale_by_lars_trust_ratio(η, β), scale_by_learning_rate(γ), trace(μ)).
//
// scale_by_trust_ratio(mask): LAMB (You et al. 2019), placed after the decoupled decay:
//     r_s = ‖θ_s‖ / ‖u_s‖;   u_s ← r_s·u_s
//   LAMB = chain(scale_by_adam(…), add_decayed_weights(λ), scale_by_trust_ratio(),
//                scale_by_learning_rate(η)).
//
// Norms accumulate in double (kernels/ref/norm.hpp).
#pragma once

#include <cmath>

#include "minibatch/kernels/ref/norm.hpp"
#include "minibatch/optim/option_checks.hpp"
#include "minibatch/optim/slice_mask.hpp"
#include "minibatch/optim/transform.hpp"

namespace minibatch {

template <class T>
struct ScaleByLarsTrustRatio {
  T trust_coefficient;
  T weight_decay;
  SliceMask trust_mask = {};
  SliceMask weight_decay_mask = {};

  void update(TensorView<T, cpu> u, TensorView<const T, cpu> theta, const ParamLayout& layout) const {
    for (const ParamSlice& s : layout.slices()) {
      const index_t n = s.shape.size();
      const double w = kernels::ref::l2_norm(theta.data() + s.offset, n);
      const double g = kernels::ref::l2_norm(u.data() + s.offset, n);
      const T beta = weight_decay_mask.contains(s) ? weight_decay : T(0);
      const bool trusted = trust_mask.contains(s) && w > 0.0 && g > 0.0;
      const T ratio =
          trusted ? static_cast<T>(static_cast<double>(trust_coefficient) * w / (g + static_cast<double>(beta) * w))
                  : T(1);
      for (index_t i = s.offset; i < s.offset + n; ++i) u[i] = ratio * (u[i] + beta * theta[i]);
    }
  }
};

template <class T>
ScaleByLarsTrustRatio<T> scale_by_lars_trust_ratio(T trust_coefficient, T weight_decay, SliceMask trust_mask = {},
                                                   SliceMask weight_decay_mask = {}) {
  detail::check_positive(trust_coefficient, "scale_by_lars_trust_ratio", "trust_coefficient");
  detail::check_nonnegative(weight_decay, "scale_by_lars_trust_ratio", "weight_decay");
  return {trust_coefficient, weight_decay, std::move(trust_mask), std::move(weight_decay_mask)};
}

template <class T>
struct ScaleByTrustRatio {
  SliceMask mask = {};

  void update(TensorView<T, cpu> u, TensorView<const T, cpu> theta, const ParamLayout& layout) const {
    for (const ParamSlice& s : layout.slices()) {
      const index_t n = s.shape.size();
      const double w = kernels::ref::l2_norm(theta.data() + s.offset, n);
      const double un = kernels::ref::l2_norm(u.data() + s.offset, n);
      const bool trusted = mask.contains(s) && w > 0.0 && un > 0.0;
      const T ratio = trusted ? static_cast<T>(w / un) : T(1);
      for (index_t i = s.offset; i < s.offset + n; ++i) u[i] *= ratio;
    }
  }
};

template <class T>
ScaleByTrustRatio<T> scale_by_trust_ratio(SliceMask mask = {}) {
  return {std::move(mask)};
}

}  // namespace minibatch
