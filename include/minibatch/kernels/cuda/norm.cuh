// Sum of squares and Euclidean norm on the GPU (gradient-norm diagnostics, LARS/LAMB
// trust ratios), as a deterministic two-pass reduction without atomics:
//
//   pass 1: block b adds xᵢ² in double over its grid-stride share → partials[b]
//   pass 2: finish_sum adds the partials in order → *out = Σ  (or sqrt(Σ))
//
// Same result as kernels/ref/norm.hpp up to the order of the double additions. x and out
// are device pointers; partials is a device workspace of at least max_partials doubles.
// The result stays on the device (read it back when needed); count = 0 gives 0.
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/kernels/cuda/common.cuh"
#include "minibatch/kernels/cuda/reduce.cuh"

namespace minibatch::kernels::cuda {

template <class T>
__global__ void sum_squares_kernel(const T* x, std::size_t count, double* partials) {
  const std::size_t stride = std::size_t{gridDim.x} * blockDim.x;
  double v = 0.0;
  for (std::size_t i = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count; i += stride) {
    const double xi = static_cast<double>(x[i]);
    v += xi * xi;
  }
  const double total = block_sum<block_threads>(v);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

template <class T, class Finish>
void sum_squares_then(const T* x, std::size_t count, double* out, double* partials, Finish finish,
                      cudaStream_t stream) {
  // Four elements a thread before another block is worth its partial.
  const unsigned blocks = grid_blocks(count, 4 * block_threads, max_partials);
  sum_squares_kernel<<<blocks, block_threads, 0, stream>>>(x, count, partials);
  MINIBATCH_CUDA_CHECK_LAUNCH("sum_squares_kernel");
  finish_sum(partials, blocks, out, finish, stream);
}

template <class T>
void sum_squares(const T* x, std::size_t count, double* out, double* partials, cudaStream_t stream) {
  sum_squares_then(x, count, out, partials, Scale{1.0}, stream);
}

template <class T>
void l2_norm(const T* x, std::size_t count, double* out, double* partials, cudaStream_t stream) {
  sum_squares_then(x, count, out, partials, SquareRoot{}, stream);
}

}  // namespace minibatch::kernels::cuda
