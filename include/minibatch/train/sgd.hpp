// SGD<Rule, Sampler>: minibatch stochastic gradient descent — an update rule, a sampler
// and the gradient buffer, driving train_loop (train/loop.hpp) over a separable objective.
//
// SGD<GradientDescent<T>, FullBatchSampler> is vanilla gradient descent (one update per
// epoch on the exact gradient); with ShuffledSampler it is minibatch SGD; with Momentum
// it is SGD with momentum. The gradient buffer and the loop's buffers are allocated on the
// first run and reused.
#pragma once

#include <utility>

#include "minibatch/optim/update_rule.hpp"
#include "minibatch/samplers/sampler.hpp"
#include "minibatch/tensor/tensor.hpp"
#include "minibatch/train/loop.hpp"

namespace minibatch {

template <UpdateRule Rule, Sampler S>
class SGD {
 public:
  using value_type = typename Rule::value_type;
  using backend_type = typename Rule::backend_type;

  SGD(Rule rule, S sampler) : rule_(std::move(rule)), sampler_(std::move(sampler)) {}

  template <SeparableObjective<value_type, backend_type> O, class... Callbacks>
  History run(O& objective, TensorView<value_type, backend_type> params, SgdOptions options = {},
              Callbacks&&... callbacks) {
    if (grad_.size() != params.size()) grad_ = Tensor<value_type, backend_type>(Shape{params.size()});
    return train_loop(rule_, sampler_, objective, params, grad_.view().reshaped(params.shape()), options, buffers_,
                      callbacks...);
  }

  Rule& rule() noexcept { return rule_; }
  const Rule& rule() const noexcept { return rule_; }
  S& sampler() noexcept { return sampler_; }

 private:
  Rule rule_;
  S sampler_;
  Tensor<value_type, backend_type> grad_;
  LoopBuffers<value_type, backend_type> buffers_;
};

}  // namespace minibatch
