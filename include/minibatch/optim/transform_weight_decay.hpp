// add_decayed_weights(λ, mask): weight decay as a transform (see transform.hpp),
//
//     u_s ← u_s + λ·θ_s          for every slice s in the mask (default: all)
//
// Where it sits in the chain decides which weight decay it is:
//   coupled (L2, torch's weight_decay in SGD/Adagrad/RMSprop/Adam): before the
//     preconditioner, so g + λθ goes through the moments:
//     chain(add_decayed_weights(λ), scale_by_adam(…), scale_by_learning_rate(η))
//   decoupled (AdamW, LAMB): after it, so the step is θ ← θ − η·(Adam direction) − η·λ·θ:
//     chain(scale_by_adam(…), add_decayed_weights(λ), scale_by_learning_rate(η))
#pragma once

#include "minibatch/optim/option_checks.hpp"
#include "minibatch/optim/slice_mask.hpp"
#include "minibatch/optim/transform.hpp"

namespace minibatch {

template <class T>
struct AddDecayedWeights {
  T weight_decay;
  SliceMask mask = {};

  void update(TensorView<T, cpu> u, TensorView<const T, cpu> theta, const ParamLayout& layout) const {
    for (const ParamSlice& s : layout.slices()) {
      if (!mask.contains(s)) continue;
      for (index_t i = s.offset; i < s.offset + s.shape.size(); ++i) u[i] += weight_decay * theta[i];
    }
  }
};

template <class T>
AddDecayedWeights<T> add_decayed_weights(T weight_decay, SliceMask mask = {}) {
  detail::check_nonnegative(weight_decay, "add_decayed_weights", "weight_decay");
  return {weight_decay, std::move(mask)};
}

}  // namespace minibatch
