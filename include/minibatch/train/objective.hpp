// The SeparableObjective concept: a loss that is a mean over n examples,
//
//     f(θ) = (1/n) Σᵢ fᵢ(θ),
//
// whose mean loss and mean gradient over any batch of example indices can be computed:
//
//     objective.size()                                → n
//     objective.loss_and_gradient(θ, batch, grad)     → (1/|batch|) Σ_{i∈batch} fᵢ(θ),
//                                                       and grad ← (1/|batch|) Σ ∇fᵢ(θ)
//
// grad is overwritten, not accumulated. The returned loss only has to convert to double,
// so a device backend can hand back a value that is read from the GPU only when used.
#pragma once

#include <concepts>
#include <span>

#include "minibatch/core/index.hpp"
#include "minibatch/tensor/tensor_view.hpp"

namespace minibatch {

template <class O, class T, class B = cpu>
concept SeparableObjective = requires(O& objective, TensorView<const T, B> params, std::span<const index_t> batch,
                                      TensorView<T, B> grad) {
  { objective.size() } -> std::convertible_to<index_t>;
  { objective.loss_and_gradient(params, batch, grad) } -> std::convertible_to<double>;
};

}  // namespace minibatch
