// BatchRange: one epoch of minibatches as a range of std::span<const std::size_t>.
// It views an index order owned by the sampler that produced it (valid until that
// sampler's next epoch() call) and cuts it into batches of batch_size; when the order's
// length is not a multiple of batch_size the last batch is the short tail.
#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <span>

#include "minibatch/core/error.hpp"
#include "minibatch/core/index.hpp"

namespace minibatch {

class BatchRange {
 public:
  class iterator {
   public:
    using value_type = std::span<const index_t>;
    using difference_type = std::ptrdiff_t;
    using iterator_category = std::forward_iterator_tag;

    iterator() = default;
    iterator(const BatchRange* range, index_t k) : range_(range), k_(k) {}
    value_type operator*() const { return (*range_)[k_]; }
    iterator& operator++() {
      ++k_;
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      ++k_;
      return old;
    }
    friend bool operator==(const iterator& a, const iterator& b) { return a.k_ == b.k_; }

   private:
    const BatchRange* range_ = nullptr;
    index_t k_ = 0;
  };

  BatchRange(std::span<const index_t> order, index_t batch_size, index_t batches)
      : order_(order), batch_size_(batch_size), batches_(batches) {}

  index_t size() const noexcept { return batches_; }
  bool empty() const noexcept { return batches_ == 0; }
  index_t batch_size() const noexcept { return batch_size_; }
  // Every index of the epoch, in order.
  std::span<const index_t> indices() const noexcept { return order_.first(std::min(order_.size(), batches_ * batch_size_)); }

  std::span<const index_t> operator[](index_t k) const {
    require<index_error>(k < batches_, "BatchRange: batch ", k, " out of range (", batches_, " batches)");
    const index_t begin = k * batch_size_;
    return order_.subspan(begin, std::min(batch_size_, order_.size() - begin));
  }

  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, batches_}; }

 private:
  std::span<const index_t> order_;
  index_t batch_size_;
  index_t batches_;
};

}  // namespace minibatch
