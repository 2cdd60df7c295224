// ReplacementSampler: i.i.d. uniform draws of indices with replacement — the sampling the
// SGD convergence proofs assume. An epoch is `batches_per_epoch` full batches (default
// ⌈n / batch_size⌉, about n draws); index draws come from Rng(seed, epoch).below(n).
#pragma once

#include <vector>

#include "minibatch/core/rng.hpp"
#include "minibatch/samplers/sampler.hpp"

namespace minibatch {

struct ReplacementSamplerOptions {
  index_t batch_size = 32;
  std::uint64_t seed = 0;
  index_t batches_per_epoch = 0;  // 0: ⌈n / batch_size⌉
};

class ReplacementSampler {
 public:
  explicit ReplacementSampler(ReplacementSamplerOptions options = {}) : options_(options) {
    detail::check_batch_size(options_.batch_size, "ReplacementSampler");
  }

  BatchRange epoch(index_t n, index_t epoch) {
    detail::check_examples(n, "ReplacementSampler");
    const index_t batches = batches_per_epoch(n);
    order_.resize(batches * options_.batch_size);
    Rng rng(options_.seed, epoch);
    for (auto& i : order_) i = static_cast<index_t>(rng.below(n));
    return {order_, options_.batch_size, batches};
  }
  index_t batches_per_epoch(index_t n) const noexcept {
    return options_.batches_per_epoch ? options_.batches_per_epoch
                                      : (n + options_.batch_size - 1) / options_.batch_size;
  }
  const ReplacementSamplerOptions& options() const noexcept { return options_; }

 private:
  ReplacementSamplerOptions options_;
  std::vector<index_t> order_;
};

}  // namespace minibatch
