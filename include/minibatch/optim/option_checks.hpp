// Hyper-parameter checks of the adaptive optimizers, in the style of optim/checks.hpp:
// each failure is a value_error that names the optimizer, the field and its value.
#pragma once

#include <cmath>

#include "minibatch/core/error.hpp"

namespace minibatch::detail {

// eps and trust coefficients: finite and > 0.
template <class T>
void check_positive(T value, const char* who, const char* name) {
  require<value_error>(std::isfinite(static_cast<double>(value)) && value > T(0), who, ": ", name,
                       " must be finite and > 0, got ", name, " = ", value);
}

// weight_decay, lr_decay, initial accumulator values: finite and >= 0.
template <class T>
void check_nonnegative(T value, const char* who, const char* name) {
  require<value_error>(std::isfinite(static_cast<double>(value)) && value >= T(0), who, ": ", name,
                       " must be finite and >= 0, got ", name, " = ", value);
}

}  // namespace minibatch::detail
