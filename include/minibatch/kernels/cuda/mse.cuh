// Mean squared error on the GPU, loss and gradient in one pass (the formulas of
// kernels/ref/mse.hpp):
//
//   L    = (1/n)·Σᵢ ½‖predᵢ − targetᵢ‖²        written to *loss (device)
//   dLdp = (pred − target) / n                  OVERWRITES dpred (may be nullptr)
//
// pred, target and dpred are row-major n×dim device arrays. The residuals and the loss
// are taken in double, the loss summed by a deterministic two-pass reduction (partials,
// then finish_sum), no atomics. partials holds at least max_partials doubles; n must be
// positive.
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/kernels/cuda/common.cuh"
#include "minibatch/kernels/cuda/reduce.cuh"

namespace minibatch::kernels::cuda {

template <class T>
__global__ void mse_kernel(const T* pred, const T* target, T* dpred, std::size_t count, double inv_n,
                           double* partials) {
  const std::size_t stride = std::size_t{gridDim.x} * blockDim.x;
  double v = 0.0;
  for (std::size_t e = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; e < count; e += stride) {
    const double r = static_cast<double>(pred[e]) - static_cast<double>(target[e]);
    v += 0.5 * r * r;
    if (dpred) dpred[e] = static_cast<T>(r * inv_n);
  }
  const double total = block_sum<block_threads>(v);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

template <class T>
void mse(const T* pred, const T* target, T* dpred, T* loss, std::size_t n, std::size_t dim, double* partials,
         cudaStream_t stream) {
  const std::size_t count = n * dim;
  const double inv_n = 1.0 / static_cast<double>(n);
  const unsigned blocks = grid_blocks(count, 4 * block_threads, max_partials);
  mse_kernel<<<blocks, block_threads, 0, stream>>>(pred, target, dpred, count, inv_n, partials);
  MINIBATCH_CUDA_CHECK_LAUNCH("mse_kernel");
  finish_sum(partials, blocks, loss, Scale{inv_n}, stream);
}

}  // namespace minibatch::kernels::cuda
