// ShuffledSampler: a new random permutation of 0 … n−1 every epoch (sampling without
// replacement), cut into batches of batch_size. The permutation of epoch e is the
// Fisher–Yates shuffle of the identity driven by Rng(seed, e): it depends only on
// (seed, e, n), so any epoch can be replayed, e.g. after resuming from a checkpoint.
#pragma once

#include <numeric>
#include <vector>

#include "minibatch/core/rng.hpp"
#include "minibatch/samplers/sampler.hpp"
#include "minibatch/core/shuffle.hpp"

namespace minibatch {

class ShuffledSampler {
 public:
  explicit ShuffledSampler(SamplerOptions options = {}) : options_(options) {
    detail::check_batch_size(options_.batch_size, "ShuffledSampler");
  }

  BatchRange epoch(index_t n, index_t epoch) {
    detail::check_examples(n, "ShuffledSampler");
    const index_t batches = detail::batch_count(n, options_.batch_size, options_.drop_last, "ShuffledSampler");
    order_.resize(n);
    std::iota(order_.begin(), order_.end(), index_t{0});
    Rng rng(options_.seed, epoch);
    shuffle(std::span<index_t>(order_), rng);
    return {order_, options_.batch_size, batches};
  }
  index_t batches_per_epoch(index_t n) const {
    return detail::batch_count(n, options_.batch_size, options_.drop_last, "ShuffledSampler");
  }
  const SamplerOptions& options() const noexcept { return options_; }

 private:
  SamplerOptions options_;
  std::vector<index_t> order_;
};

}  // namespace minibatch
