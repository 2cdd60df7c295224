// FullBatchSampler: every epoch is a single batch holding all n indices in order, so SGD
// with it takes one update per epoch on the exact mean gradient: vanilla gradient descent.
#pragma once

#include <numeric>
#include <vector>

#include "minibatch/samplers/sampler.hpp"

namespace minibatch {

class FullBatchSampler {
 public:
  BatchRange epoch(index_t n, index_t /*epoch*/) {
    detail::check_examples(n, "FullBatchSampler");
    if (order_.size() != n) {
      order_.resize(n);
      std::iota(order_.begin(), order_.end(), index_t{0});
    }
    return {order_, n, 1};
  }
  index_t batches_per_epoch(index_t /*n*/) const noexcept { return 1; }

 private:
  std::vector<index_t> order_;
};

}  // namespace minibatch
