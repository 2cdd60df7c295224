// SequentialSampler: the indices 0 … n−1 in order, cut into batches of batch_size, the
// same every epoch (the seed is unused). For evaluation passes and reproducible demos.
#pragma once

#include <numeric>
#include <vector>

#include "minibatch/samplers/sampler.hpp"

namespace minibatch {

class SequentialSampler {
 public:
  explicit SequentialSampler(SamplerOptions options = {}) : options_(options) {
    detail::check_batch_size(options_.batch_size, "SequentialSampler");
  }

  BatchRange epoch(index_t n, index_t /*epoch*/) {
    detail::check_examples(n, "SequentialSampler");
    const index_t batches = detail::batch_count(n, options_.batch_size, options_.drop_last, "SequentialSampler");
    if (order_.size() != n) {
      order_.resize(n);
      std::iota(order_.begin(), order_.end(), index_t{0});
    }
    return {order_, options_.batch_size, batches};
  }
  index_t batches_per_epoch(index_t n) const {
    return detail::batch_count(n, options_.batch_size, options_.drop_last, "SequentialSampler");
  }
  const SamplerOptions& options() const noexcept { return options_; }

 private:
  SamplerOptions options_;
  std::vector<index_t> order_;
};

}  // namespace minibatch
