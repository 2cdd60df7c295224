// Helpers shared by the optimizer tests: random gradients, a three-slice layout, the
// message of an expected exception, and the largest relative difference of two buffers.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "minibatch/core/error.hpp"
#include "minibatch/core/rng.hpp"
#include "minibatch/tensor/param_buffer.hpp"

namespace optim_test {

namespace mb = minibatch;

// W1 [3×4], b1 [4], W2 [4×2]: two matrices and a bias vector, 24 parameters.
inline mb::ParamLayout three_slices() { return {{"W1", mb::Shape{3, 4}}, {"b1", mb::Shape{4}}, {"W2", mb::Shape{4, 2}}}; }

template <class View>
void fill_normal(View x, mb::Rng& rng, double scale = 1.0) {
  for (mb::index_t i = 0; i < x.size(); ++i) x[i] = static_cast<typename View::value_type>(scale * rng.normal());
}

// max_i |a_i − b_i| / max(1, |b_i|)
template <class A, class B>
double max_rel_diff(const A& a, const B& b) {
  double worst = 0;
  for (mb::index_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    worst = std::max(worst, d / std::max(1.0, std::abs(static_cast<double>(b[i]))));
  }
  return worst;
}

// The what() of the Error that make() throws; "" if it throws nothing.
template <class Error = mb::value_error, class F>
std::string message_of(F make) {
  try {
    make();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace optim_test
