// OptimizerState: a uniform handle on an optimizer's state, so that checkpoints
// (train/checkpoint.hpp) can save and restore any optimizer without knowing its fields.
//
//   auto s = opt.state();       // kind, &step count, named state tensors (mutable handle)
//   s.kind                      "Momentum", "Momentum/pytorch", "Adam", "AdamW", "LAMB", …
//   *s.steps                    updates made so far (t of the bias corrections, schedules)
//   s.tensors[i].name           "velocity", "exp_avg", … (PyTorch's state names where it has them)
//   *s.tensors[i].tensor        the flat state tensor: empty before the first step, else
//                               shaped {params.size()}
//   s.tensors[i].used           false for a tensor these options never allocate (RMSProp's
//                               grad_avg when not centered): it stays empty
//
// The kind names the meaning of the state: two optimizers of one kind interpret the same
// tensors the same way (the lecture and PyTorch forms of Momentum do not, so they are two
// kinds). Hyper-parameters are not state: they are the caller's, except the lr, which
// checkpoints save through lr()/set_lr() because schedules change it. Writing through the
// handle replaces the state as is; the optimizer rebuilds its per-slice tables (LARS, LAMB,
// weight-decay masks) from the parameters on its next step. `state() const` gives the
// same handle with const pointers; optimizers build both from one static state_of(self).
#pragma once

#include <concepts>
#include <string_view>
#include <type_traits>
#include <vector>

#include "minibatch/tensor/tensor.hpp"

namespace minibatch {

// T may be const: OptimizerState<const float> is the read-only handle of a const optimizer.
template <class T, Backend B = cpu>
struct OptimizerState {
  using tensor_type = std::conditional_t<std::is_const_v<T>, const Tensor<std::remove_const_t<T>, B>,
                                         Tensor<std::remove_const_t<T>, B>>;
  using steps_type = std::conditional_t<std::is_const_v<T>, const index_t, index_t>;

  struct NamedTensor {
    std::string_view name;
    tensor_type* tensor = nullptr;
    bool used = true;
  };

  std::string_view kind;
  steps_type* steps = nullptr;
  std::vector<NamedTensor> tensors;
};

// An optimizer whose state can be enumerated and restored: state() in both constnesses
// and a learning rate that can be read and set.
template <class O>
concept StatefulOptimizer = requires(O& o, const O& c) {
  typename O::value_type;
  typename O::backend_type;
  { o.state() } -> std::same_as<OptimizerState<typename O::value_type, typename O::backend_type>>;
  { c.state() } -> std::same_as<OptimizerState<const typename O::value_type, typename O::backend_type>>;
  { c.lr() } -> std::convertible_to<typename O::value_type>;
  o.set_lr(c.lr());
};

namespace detail {

// The handle an optimizer's state_of(self) helper returns: read-only when self is const.
template <class Self, class T, Backend B>
using state_handle_t = OptimizerState<std::conditional_t<std::is_const_v<Self>, const T, T>, B>;

}  // namespace detail
}  // namespace minibatch
