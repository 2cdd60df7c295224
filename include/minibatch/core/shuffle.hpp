// Fisher–Yates shuffle on our own engine and bounded draw, so a seed gives the same
// permutation everywhere (std::shuffle's algorithm is implementation-defined):
//
//   for i = n−1 down to 1:  j = rng.below(i + 1);  swap(a[i], a[j])
#pragma once

#include <span>
#include <utility>

#include "minibatch/core/rng.hpp"

namespace minibatch {

template <class T>
void shuffle(std::span<T> values, Rng& rng) {
  for (std::size_t i = values.size(); i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(rng.below(i));
    using std::swap;
    swap(values[i - 1], values[j]);
  }
}

}  // namespace minibatch
