// The UpdateRule concept: what SGD needs from an optimizer. A rule names its scalar and
// backend and updates parameters in place from a gradient of the same shape:
//
//   rule.step(TensorView<T, B> params, TensorView<const T, B> grads)
//
// GradientDescent and Momentum model it; so does anything a user writes with that shape.
#pragma once

#include <concepts>

#include "minibatch/tensor/tensor_view.hpp"

namespace minibatch {

template <class R>
concept UpdateRule = requires(R& rule, TensorView<typename R::value_type, typename R::backend_type> params,
                              TensorView<const typename R::value_type, typename R::backend_type> grads) {
  requires std::floating_point<typename R::value_type>;
  requires Backend<typename R::backend_type>;
  rule.step(params, grads);
};

}  // namespace minibatch
