// The UpdateRule concept: what SGD needs from an optimizer. A rule names its scalar and
// backend and updates parameters in place from a gradient of the same shape:
//
//   rule.step(TensorView<T, B> params, TensorView<const T, B> grads)
//
// GradientDescent and Momentum model it; so does anything a user writes with that shape.
//
// A PartwiseRule also takes a step whose gradient arrives in parts (optim/optimizer_base.hpp):
//
//   rule.step_in_parts(params, produce)   produce(apply) calls apply(offset, g_part) per part
//
// which lets the training loop fuse the update into backward (train/loop.hpp): GradientDescent
// and Momentum, and on the cpu Adam, AdamW, RMSProp and Adagrad.
#pragma once

#include <concepts>

#include "minibatch/core/index.hpp"
#include "minibatch/tensor/tensor_view.hpp"

namespace minibatch {

template <class R>
concept UpdateRule = requires(R& rule, TensorView<typename R::value_type, typename R::backend_type> params,
                              TensorView<const typename R::value_type, typename R::backend_type> grads) {
  requires std::floating_point<typename R::value_type>;
  requires Backend<typename R::backend_type>;
  rule.step(params, grads);
};

namespace detail {
// What a part producer hands to step_in_parts' callback: (offset, g_part).
template <class T, Backend B>
struct PartProducerProbe {
  template <class Apply>
  void operator()(Apply&& apply) const {
    apply(index_t{0}, TensorView<const T, B>());
  }
};
}  // namespace detail

template <class R>
concept PartwiseRule =
    UpdateRule<R> && requires(R& rule, TensorView<typename R::value_type, typename R::backend_type> params) {
      rule.step_in_parts(params, detail::PartProducerProbe<typename R::value_type, typename R::backend_type>{});
    };

}  // namespace minibatch
