// Classification accuracy, reference loops.
//
//   argmax_row(row, classes)               = the first j with row[j] = maxₖ row[k]
//   count_correct(logits, labels, n, classes) = #{ i : argmax_row(logitsᵢ) = labelsᵢ }
//
// logits is row-major n×classes, labels has n entries in [0, classes). Ties go to the
// first maximum; NaN entries are never chosen over a number seen before them. A count, not
// a mean, so that batches can be summed exactly. classes = 0 throws shape_error; a label
// < 0 or ≥ classes throws index_error naming the row and the label.
#pragma once

#include <cstddef>
#include <cstdint>

#include "minibatch/core/error.hpp"

namespace minibatch::kernels::ref {

template <class T>
std::size_t argmax_row(const T* row, std::size_t classes) {
  require<shape_error>(classes > 0, "argmax_row: classes = 0, an empty row has no argmax");
  std::size_t best = 0;
  for (std::size_t j = 1; j < classes; ++j) {
    if (row[j] > row[best]) best = j;
  }
  return best;
}

template <class T>
std::size_t count_correct(const T* logits, const std::int32_t* labels, std::size_t n,
                          std::size_t classes) {
  require<shape_error>(classes > 0, "count_correct: classes = 0, an empty row has no argmax");
  std::size_t correct = 0;
  for (std::size_t i = 0; i < n; ++i) {
    require<index_error>(labels[i] >= 0 && static_cast<std::size_t>(labels[i]) < classes,
                         "count_correct: row ", i, " has label ", labels[i], ", outside [0, ",
                         classes, ")");
    if (argmax_row(logits + i * classes, classes) == static_cast<std::size_t>(labels[i])) {
      ++correct;
    }
  }
  return correct;
}

}  // namespace minibatch::kernels::ref
