// Synthetic classification data for tests and tutorials. make_blobs draws one centre per
// class uniformly in [−1, 1)^cols (stream 0 of Rng(seed)), gives row i the label
// i mod classes (round-robin, so classes are balanced and every class appears once
// rows ≥ classes), and places the row at its class centre plus spread · N(0, 1) noise
// in every coordinate (stream 1). Small spread (≈ 0.1) gives well separated clusters,
// spread ≳ 1 overlapping ones. The same arguments give the same data everywhere.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "minibatch/core/error.hpp"
#include "minibatch/core/rng.hpp"
#include "minibatch/data/dataset.hpp"

namespace minibatch::data {

// Throws value_error when cols or classes is 0, classes exceeds the int32 label range,
// or spread is negative or not finite.
inline Dataset make_blobs(std::size_t rows, std::size_t cols, std::size_t classes,
                          double spread, std::uint64_t seed) {
  require<value_error>(cols > 0, "make_blobs: cols must be positive, got 0");
  require<value_error>(classes > 0 && classes <= 0x7FFFFFFF,
                       "make_blobs: classes must be in [1, 2^31), got ", classes);
  require<value_error>(std::isfinite(spread) && spread >= 0.0,
                       "make_blobs: spread must be finite and ≥ 0, got ", spread);

  Rng centre_rng(seed, 0);
  std::vector<double> centres(classes * cols);
  for (double& c : centres) c = 2.0 * centre_rng.uniform() - 1.0;

  Dataset out;
  out.rows = rows;
  out.cols = cols;
  out.classes = classes;
  out.features.resize(rows * cols);
  out.labels.resize(rows);
  Rng noise_rng(seed, 1);
  for (std::size_t i = 0; i < rows; ++i) {
    const std::size_t label = i % classes;
    out.labels[i] = static_cast<std::int32_t>(label);
    for (std::size_t k = 0; k < cols; ++k)
      out.features[i * cols + k] =
          static_cast<float>(centres[label * cols + k] + spread * noise_rng.normal());
  }
  return out;
}

}  // namespace minibatch::data
