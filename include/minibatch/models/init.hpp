// Weight initialisation from a seed (portable: minibatch::Rng, Box–Muller normals).
//
//   He (Kaiming) normal:  W ~ N(0, 2 / fan_in)              — for ReLU layers
//   Xavier (Glorot) normal: W ~ N(0, 2 / (fan_in + fan_out)) — for tanh / sigmoid / linear
//   Init::automatic picks He for ReLU and Xavier otherwise; biases start at 0.
#pragma once

#include <cmath>
#include <span>

#include "minibatch/core/rng.hpp"
#include "minibatch/kernels/ref/activation.hpp"

namespace minibatch {

enum class Init { automatic, he, xavier, zeros };

inline double init_stddev(Init init, kernels::ref::Activation act, std::size_t fan_in, std::size_t fan_out) {
  if (init == Init::automatic) init = act == kernels::ref::Activation::relu ? Init::he : Init::xavier;
  switch (init) {
    case Init::he:
      return std::sqrt(2.0 / static_cast<double>(fan_in));
    case Init::xavier:
      return std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
    default:
      return 0.0;
  }
}

// Fills `values` with N(0, stddev²) draws from rng (zeros when stddev is 0).
template <class T>
void fill_normal(std::span<T> values, double stddev, Rng& rng) {
  for (auto& v : values) v = stddev == 0.0 ? T(0) : static_cast<T>(stddev * rng.normal());
}

}  // namespace minibatch
