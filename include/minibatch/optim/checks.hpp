// Argument checks shared by the optimizers: hyper-parameters in their domain and
// parameter/gradient pairs of one non-empty shape. Each failure names the value.
#pragma once

#include <cmath>

#include "minibatch/core/error.hpp"
#include "minibatch/tensor/tensor_view.hpp"

namespace minibatch::detail {

template <class T>
void check_learning_rate(T lr, const char* who) {
  require<value_error>(std::isfinite(static_cast<double>(lr)) && lr >= T(0), who,
                       ": learning rate must be finite and >= 0, got lr = ", lr);
}

template <class T>
void check_unit_interval(T value, const char* who, const char* name) {
  require<value_error>(value >= T(0) && value < T(1), who, ": ", name, " must be in [0, 1), got ", name, " = ", value);
}

template <class P, class G>
void check_step_args(const P& params, const G& grads, const char* who) {
  require<shape_error>(!params.empty(), who, ": empty parameter tensor (shape ", params.shape(), ")");
  require<shape_error>(params.shape() == grads.shape(), who, ": parameters of shape ", params.shape(),
                       " but gradient of shape ", grads.shape());
}

}  // namespace minibatch::detail
