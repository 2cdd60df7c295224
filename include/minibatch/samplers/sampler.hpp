// What every sampler shares: the options, the argument checks and the Sampler concept.
//
//   SamplerOptions{.batch_size, .seed, .drop_last}
//   sampler.epoch(n, e)  → BatchRange over the indices 0 … n−1 for epoch e
//   sampler.batches_per_epoch(n)
//
// Determinism: the order of an epoch depends only on (seed, epoch, n), never on what was
// drawn before, on the compiler or on the standard library (see core/rng.hpp).
// drop_last = false keeps a short final batch; true drops it.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>

#include "minibatch/core/error.hpp"
#include "minibatch/core/index.hpp"
#include "minibatch/samplers/batch_range.hpp"

namespace minibatch {

struct SamplerOptions {
  index_t batch_size = 32;
  std::uint64_t seed = 0;
  bool drop_last = false;
};

template <class S>
concept Sampler = requires(S& s, index_t n, index_t epoch) {
  { s.epoch(n, epoch) } -> std::same_as<BatchRange>;
  { s.batches_per_epoch(n) } -> std::convertible_to<index_t>;
};

namespace detail {

inline void check_batch_size(index_t batch_size, const char* who) {
  require<value_error>(batch_size > 0, who, ": batch_size must be positive, got batch_size = 0");
}

inline void check_examples(index_t n, const char* who) {
  require<value_error>(n > 0, who, ": the data set is empty (n = 0)");
}

// Batches of an n-element order cut into batch_size pieces, honouring drop_last.
inline index_t batch_count(index_t n, index_t batch_size, bool drop_last, const char* who) {
  if (!drop_last) return (n + batch_size - 1) / batch_size;
  require<value_error>(batch_size <= n, who, ": batch_size = ", batch_size, " exceeds the ", n,
                       " examples with drop_last = true, so the epoch would have no batch");
  return n / batch_size;
}

}  // namespace detail
}  // namespace minibatch
