// Gather by index, reference loops: build a minibatch from the rows its sampler chose.
//
//   gather_rows: dst[k][c] = src[idx[k]][c]     src is src_rows×cols, dst is count×cols
//   gather:      dst[k]    = src[idx[k]]        1-D (e.g. labels), src has src_size entries
//
// Row-major; dst must not overlap src. Every index is checked before anything is copied:
// idx[k] ≥ src_rows (or ≥ src_size) throws index_error naming the position k and the index.
#pragma once

#include <cstddef>

#include "minibatch/core/error.hpp"

namespace minibatch::kernels::ref {

// Throws index_error for the first k with idx[k] ≥ bound, naming k, the index and the bound
// ("<who>: idx[k] = i is out of range for <bound> source <what>").
inline void check_indices(const std::size_t* idx, std::size_t count, std::size_t bound, const char* who,
                          const char* what) {
  for (std::size_t k = 0; k < count; ++k)
    require<index_error>(idx[k] < bound, who, ": idx[", k, "] = ", idx[k], " is out of range for ", bound,
                         " source ", what);
}

template <class T>
void gather_rows(const T* src, std::size_t src_rows, std::size_t cols, const std::size_t* idx,
                 std::size_t count, T* dst) {
  check_indices(idx, count, src_rows, "gather_rows", "rows");
  for (std::size_t k = 0; k < count; ++k) {
    const T* row = src + idx[k] * cols;
    T* out = dst + k * cols;
    for (std::size_t c = 0; c < cols; ++c) out[c] = row[c];
  }
}

template <class T>
void gather(const T* src, std::size_t src_size, const std::size_t* idx, std::size_t count, T* dst) {
  check_indices(idx, count, src_size, "gather", "entries");
  for (std::size_t k = 0; k < count; ++k) dst[k] = src[idx[k]];
}

}  // namespace minibatch::kernels::ref
