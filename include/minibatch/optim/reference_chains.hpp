// reference_chain(options): each named optimizer written as a chain of update transforms,
// from the same options — the readable reference that the fused optimizers are tested
// against (run it with compose<T>(reference_chain(options)), CPU only):
//
//   Adagrad   add_decayed_weights(λ) → scale_by_adagrad(S⁰, eps) → scale_by_schedule(η/(1 + lr_decay·t))
//   RMSProp   add_decayed_weights(λ) → scale_by_rms(α, eps, centered) → trace(μ) → scale_by_learning_rate(η)
//   Adam      add_decayed_weights(λ) → scale_by_adam(β₁, β₂, eps) → scale_by_learning_rate(η)
//   AdamW     scale_by_adam(β₁, β₂, eps) → add_decayed_weights(λ) → scale_by_learning_rate(η)
//   LARS      scale_by_lars_trust_ratio(η_trust, λ) → scale_by_learning_rate(γ) → trace(μ)
//   LAMB      scale_by_adam(β₁, β₂, eps) → add_decayed_weights(λ) → scale_by_trust_ratio() → scale_by_learning_rate(η)
//
// The chain keeps the lr of the options; set_lr on a fused optimizer has no counterpart here.
#pragma once

#include "minibatch/optim/adagrad.hpp"
#include "minibatch/optim/adam.hpp"
#include "minibatch/optim/lamb.hpp"
#include "minibatch/optim/lars.hpp"
#include "minibatch/optim/rmsprop.hpp"
#include "minibatch/optim/schedules.hpp"
#include "minibatch/optim/transform.hpp"
#include "minibatch/optim/transform_adaptive.hpp"
#include "minibatch/optim/transform_trace.hpp"
#include "minibatch/optim/transform_trust_ratio.hpp"
#include "minibatch/optim/transform_weight_decay.hpp"

namespace minibatch {

template <class T>
auto reference_chain(const AdagradOptions<T>& o) {
  return chain(add_decayed_weights(o.weight_decay, o.weight_decay_mask),
               scale_by_adagrad(o.initial_accumulator_value, o.eps),
               scale_by_schedule<T>(InverseTimeDecay(static_cast<double>(o.lr), static_cast<double>(o.lr_decay))));
}

template <class T>
auto reference_chain(const RMSPropOptions<T>& o) {
  return chain(add_decayed_weights(o.weight_decay, o.weight_decay_mask), scale_by_rms(o.alpha, o.eps, o.centered),
               trace(o.momentum), scale_by_learning_rate(o.lr));
}

template <class T>
auto reference_chain(const AdamOptions<T>& o) {
  return chain(add_decayed_weights(o.weight_decay, o.weight_decay_mask), scale_by_adam(o.beta1, o.beta2, o.eps),
               scale_by_learning_rate(o.lr));
}

template <class T>
auto reference_chain(const AdamWOptions<T>& o) {
  return chain(scale_by_adam(o.beta1, o.beta2, o.eps), add_decayed_weights(o.weight_decay, o.weight_decay_mask),
               scale_by_learning_rate(o.lr));
}

template <class T>
auto reference_chain(const LARSOptions<T>& o) {
  return chain(scale_by_lars_trust_ratio(o.trust_coefficient, o.weight_decay, o.trust_ratio_mask, o.weight_decay_mask),
               scale_by_learning_rate(o.lr), trace(o.momentum));
}

template <class T>
auto reference_chain(const LAMBOptions<T>& o) {
  return chain(scale_by_adam(o.beta1, o.beta2, o.eps), add_decayed_weights(o.weight_decay, o.weight_decay_mask),
               scale_by_trust_ratio<T>(o.trust_ratio_mask), scale_by_learning_rate(o.lr));
}

}  // namespace minibatch
