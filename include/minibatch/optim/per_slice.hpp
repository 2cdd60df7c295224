// PerSlice<Rule>: binds a parameter layout to an optimizer whose update depends on the
// slices (LARS and LAMB trust ratios, weight-decay masks), so that it models UpdateRule
// with the plain step(params, grads) the training loop calls:
//
//   per_slice(lars, model.layout())  →  step(p, g) calls lars.step(p, g, layout)
//
// fit() wraps the optimizer this way by itself when it has such a step.
#pragma once

#include "minibatch/tensor/param_buffer.hpp"
#include "minibatch/tensor/tensor_view.hpp"

namespace minibatch {

template <class Rule>
concept SliceAwareRule = requires(Rule& rule, TensorView<typename Rule::value_type, typename Rule::backend_type> p,
                                  TensorView<const typename Rule::value_type, typename Rule::backend_type> g,
                                  const ParamLayout& layout) { rule.step(p, g, layout); };

template <SliceAwareRule Rule>
class PerSlice {
 public:
  using value_type = typename Rule::value_type;
  using backend_type = typename Rule::backend_type;

  PerSlice(Rule& rule, const ParamLayout& layout) : rule_(&rule), layout_(&layout) {}

  void step(TensorView<value_type, backend_type> params, TensorView<const value_type, backend_type> grads) {
    rule_->step(params, grads, *layout_);
  }
  Rule& rule() const noexcept { return *rule_; }

 private:
  Rule* rule_;
  const ParamLayout* layout_;
};

template <SliceAwareRule Rule>
PerSlice<Rule> per_slice(Rule& rule, const ParamLayout& layout) {
  return {rule, layout};
}

}  // namespace minibatch
