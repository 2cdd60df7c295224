// Binary logistic loss (sigmoid cross-entropy) on the GPU, loss and gradient in one pass
// (the formulas of kernels/ref/sigmoid_xent.hpp), one logit per example:
//
//   Lᵢ   = max(zᵢ, 0) − zᵢ·yᵢ + log1p(exp(−|zᵢ|))       (stable for either sign of z)
//   L    = (1/n)·Σᵢ Lᵢ                                   written to *loss (device)
//   dLdz = (σ(zᵢ) − yᵢ) / n                              OVERWRITES dlogits (may be nullptr)
//
// The loss is taken and summed in double by a deterministic two-pass reduction (partials, then
// finish_sum), no atomics. A label other than 0 or 1 makes its loss and gradient NaN (the
// labels live on the device and are not checked on the host). All pointers are device
// pointers; partials holds at least max_partials doubles; n must be positive.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "minibatch/backend/cuda/error.cuh"
#include "minibatch/kernels/cuda/common.cuh"
#include "minibatch/kernels/cuda/reduce.cuh"

namespace minibatch::kernels::cuda {

template <class T>
__global__ void sigmoid_xent_kernel(const T* logits, const std::int32_t* labels, T* dlogits, std::size_t n, T inv_n,
                                    double* partials) {
  const std::size_t stride = std::size_t{gridDim.x} * blockDim.x;
  double v = 0.0;
  for (std::size_t i = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += stride) {
    const T z = logits[i];
    const std::int32_t label = labels[i];
    const bool valid = label == 0 || label == 1;
    const double zd = static_cast<double>(z), yd = static_cast<double>(label);
    v += valid ? math::fmax(zd, 0.0) - zd * yd + math::log1p(math::exp(-math::abs(zd))) : double(NAN);
    if (dlogits) dlogits[i] = valid ? (math::stable_sigmoid(z) - static_cast<T>(label)) * inv_n : T(NAN);
  }
  const double total = block_sum<block_threads>(v);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

template <class T>
void sigmoid_xent(const T* logits, const std::int32_t* labels, T* dlogits, T* loss, std::size_t n, double* partials,
                  cudaStream_t stream) {
  const unsigned blocks = grid_blocks(n, 4 * block_threads, max_partials);
  sigmoid_xent_kernel<<<blocks, block_threads, 0, stream>>>(logits, labels, dlogits, n,
                                                            static_cast<T>(1.0 / static_cast<double>(n)), partials);
  MINIBATCH_CUDA_CHECK_LAUNCH("sigmoid_xent_kernel");
  finish_sum(partials, blocks, loss, Scale{1.0 / static_cast<double>(n)}, stream);
}

}  // namespace minibatch::kernels::cuda
