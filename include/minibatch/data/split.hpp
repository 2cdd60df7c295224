// Train/validation split of a Dataset by a seeded permutation: minibatch::shuffle (our
// Fisher–Yates) on Rng(seed), so the split is the same on every compiler and library.
// Rows are copied in permuted order: the first n − ⌊fraction·n⌋ permuted rows form the
// training part, the last ⌊fraction·n⌋ the validation part. Both keep cols and classes.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <utility>
#include <vector>

#include "minibatch/core/error.hpp"
#include "minibatch/core/rng.hpp"
#include "minibatch/core/shuffle.hpp"
#include "minibatch/data/dataset.hpp"

namespace minibatch::data {

namespace detail {

inline Dataset gather_rows(const Dataset& source, std::span<const std::size_t> order) {
  Dataset out;
  out.rows = order.size();
  out.cols = source.cols;
  out.classes = source.classes;
  out.features.reserve(out.rows * out.cols);
  out.labels.reserve(out.rows);
  for (const std::size_t i : order) {
    const float* r = source.row(i);
    out.features.insert(out.features.end(), r, r + source.cols);
    out.labels.push_back(source.labels[i]);
  }
  return out;
}

}  // namespace detail

// Throws value_error when validation_fraction is not in [0, 1) (NaN included), and
// what Dataset::validate throws when the data set is inconsistent.
inline std::pair<Dataset, Dataset> train_validation_split(const Dataset& dataset,
                                                          double validation_fraction,
                                                          std::uint64_t seed) {
  require<value_error>(validation_fraction >= 0.0 && validation_fraction < 1.0,
                       "train_validation_split: validation_fraction must be in [0, 1), got ",
                       validation_fraction);
  dataset.validate();

  const std::size_t n = dataset.rows;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  Rng rng(seed);
  shuffle(std::span<std::size_t>(order), rng);

  const auto validation_rows =
      static_cast<std::size_t>(std::floor(validation_fraction * static_cast<double>(n)));
  const std::span<const std::size_t> all(order);
  return {detail::gather_rows(dataset, all.first(n - validation_rows)),
          detail::gather_rows(dataset, all.last(validation_rows))};
}

}  // namespace minibatch::data
