// Classification accuracy on the GPU (kernels/ref/accuracy.hpp): the number of rows
// whose argmax equals the label,
//
//   *correct = #{ i : argmax_j logits[i][j] = labels[i] }     written on the device
//
// One warp per row. The argmax is the reference's: the first index of the maximum, with
// NaN never chosen over a number (a row whose first entry is NaN has argmax 0, as the
// reference's sequential scan gives). Counted by a deterministic two-pass reduction
// (partials, then finish_sum), no atomics. A label outside [0, classes) never counts as
// correct (the reference throws; device labels are not checked on the host). All
// pointers are device pointers; partials holds at least max_partials doubles; classes
// must be positive.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/kernels/cuda/common.cuh"
#include "minibatch/kernels/cuda/reduce.cuh"

namespace minibatch::kernels::cuda {

// The reference's argmax of one row, computed by the 32 lanes of a warp; valid in every lane.
template <class T>
__device__ std::size_t warp_argmax(const T* row, std::size_t classes) {
  const unsigned lane = threadIdx.x % 32;
  // Best (value, index) among this lane's non-NaN entries; index = classes means none.
  T best = T(0);
  std::size_t best_j = classes;
  for (std::size_t j = lane; j < classes; j += 32) {
    const T v = row[j];
    if (v == v && (best_j == classes || v > best)) {
      best = v;
      best_j = j;
    }
  }
  for (int offset = 16; offset > 0; offset >>= 1) {
    const T other = __shfl_xor_sync(0xffffffffu, best, offset);
    const std::size_t other_j = __shfl_xor_sync(0xffffffffu, best_j, offset);
    const bool take = other_j != classes &&
                      (best_j == classes || other > best || (other == best && other_j < best_j));
    if (take) {
      best = other;
      best_j = other_j;
    }
  }
  const T first = row[0];
  return (first != first || best_j == classes) ? 0 : best_j;
}

template <class T>
__global__ void count_correct_kernel(const T* logits, const std::int32_t* labels, std::size_t n, std::size_t classes,
                                     double* partials) {
  const unsigned lane = threadIdx.x % 32;
  double correct = 0.0;
  for (std::size_t row = std::size_t{blockIdx.x} * warp_rows_per_block + threadIdx.x / 32; row < n;
       row += std::size_t{gridDim.x} * warp_rows_per_block) {
    const std::size_t j = warp_argmax(logits + row * classes, classes);
    const std::int32_t label = labels[row];
    if (lane == 0 && label >= 0 && static_cast<std::size_t>(label) == j) correct += 1.0;
  }
  const double total = block_sum<block_threads>(correct);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

template <class T>
void count_correct(const T* logits, const std::int32_t* labels, std::size_t n, std::size_t classes,
                   unsigned long long* correct, double* partials, cudaStream_t stream) {
  const unsigned blocks = grid_blocks(n, warp_rows_per_block, max_partials);
  count_correct_kernel<<<blocks, block_threads, 0, stream>>>(logits, labels, n, classes, partials);
  MINIBATCH_CUDA_CHECK_LAUNCH("count_correct_kernel");
  finish_sum(partials, blocks, correct, Scale{1.0}, stream);
}

}  // namespace minibatch::kernels::cuda
