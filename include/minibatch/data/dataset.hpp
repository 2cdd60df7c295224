// An in-memory labelled data set for classification: `features` holds `rows` examples
// of `cols` floats each, row-major (example i is features[i·cols, (i+1)·cols)), and
// `labels` holds one class index per example, in [0, classes). The struct is a plain
// aggregate that loaders (IDX/MNIST, synthetic) fill; `validate()` checks that the sizes
// agree and every label is in range, and `row(i)` is a bounds-checked pointer to
// example i. Errors are minibatch exceptions naming the row, label or sizes at fault.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "minibatch/core/error.hpp"

namespace minibatch::data {

struct Dataset {
  std::vector<float> features;       // [rows x cols], row-major
  std::vector<std::int32_t> labels;  // [rows], each in [0, classes)
  std::size_t rows = 0, cols = 0, classes = 0;

  // Pointer to the first feature of example i; throws index_error when i ≥ rows.
  const float* row(std::size_t i) const {
    require<index_error>(i < rows, "Dataset::row: row ", i, " is out of range for a data set of ",
                         rows, " rows");
    return features.data() + i * cols;
  }

  // Throws shape_error when the vectors disagree with rows/cols, index_error naming the
  // first row whose label is negative or ≥ classes.
  void validate() const {
    require<shape_error>(cols == 0 || rows <= std::numeric_limits<std::size_t>::max() / cols,
                         "Dataset: rows x cols = ", rows, " x ", cols, " overflows size_t");
    require<shape_error>(features.size() == rows * cols, "Dataset: features has ",
                         features.size(), " values, expected rows x cols = ", rows, " x ", cols,
                         " = ", rows * cols);
    require<shape_error>(labels.size() == rows, "Dataset: labels has ", labels.size(),
                         " entries, expected one per row (", rows, ")");
    for (std::size_t i = 0; i < rows; ++i) {
      const std::int32_t label = labels[i];
      require<index_error>(label >= 0 && static_cast<std::size_t>(label) < classes,
                           "Dataset: row ", i, " has label ", label, ", outside [0, ", classes,
                           ")");
    }
  }
};

// The first min(n, rows) rows of a data set (a copy), e.g. a quick run on a slice.
inline Dataset head(const Dataset& d, std::size_t n) {
  Dataset out;
  out.rows = n < d.rows ? n : d.rows;
  out.cols = d.cols;
  out.classes = d.classes;
  out.features.assign(d.features.begin(), d.features.begin() + static_cast<std::ptrdiff_t>(out.rows * d.cols));
  out.labels.assign(d.labels.begin(), d.labels.begin() + static_cast<std::ptrdiff_t>(out.rows));
  return out;
}

}  // namespace minibatch::data
